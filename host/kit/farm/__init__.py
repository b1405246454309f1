"""A lab of boards on many machines through labgrid: export, list, bench (docs/ARCHITECTURE.md)."""
