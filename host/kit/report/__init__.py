"""Human-facing outputs of measurements: plots of bench sessions."""
