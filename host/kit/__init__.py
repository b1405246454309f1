"""kit: the hardware-lab toolchain of the Machine Learning Systems textbook."""

__version__ = "0.1.0"
