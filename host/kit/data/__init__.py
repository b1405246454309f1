"""Offline datasets for the labs: synthesised speech, rendered scenes, simulated IMU motion
and motor vibration, or the user's own folder of examples, turned into model features.

Nothing is downloaded: every generator runs on this machine and is deterministic per seed.
"""

from kit.data.dataset import SIZES, Dataset, dataset_key, load_dataset, load_raw, size_fraction
from kit.data.spec import LabSpec, lab_spec

__all__ = ["Dataset", "LabSpec", "SIZES", "dataset_key", "lab_spec", "load_dataset", "load_raw", "size_fraction"]
