"""Reading a user's .npy file (kit invoke --input, kit import --calibration) with errors that
say what the file is instead of numpy's messages about pickles or EOF."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kit.errors import KitError

NPY_MAGIC = b"\x93NUMPY"


def load_npy(path: Path, what: str, hint: str) -> np.ndarray:
    """One array saved with numpy.save: no pickles, no .npz. `what` names the file in messages
    ("input file", "calibration file"); `hint` says how to write a good one."""
    path = Path(path)

    def refuse(reason: str, error: BaseException | None = None) -> KitError:
        return KitError(f"cannot read {what} {path}: {reason}", hint)

    if path.is_dir():
        raise refuse("it is a folder, not a .npy file")
    try:
        with path.open("rb") as handle:
            head = handle.read(len(NPY_MAGIC))
    except FileNotFoundError as error:
        raise refuse("no such file") from error
    except OSError as error:
        raise refuse(str(error.strerror or error)) from error
    if not head:
        raise refuse("it is empty (0 bytes)")
    if head.startswith(b"PK"):
        raise refuse("it is a .npz archive (numpy.savez), not one .npy array")
    if head != NPY_MAGIC:
        raise refuse("it is not a .npy file (it does not start with NumPy's .npy header)")
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as error:
        if "allow_pickle" in str(error):
            raise refuse("it holds Python objects (dtype object), not numbers") from error
        raise refuse(f"it is a damaged .npy file ({error})") from error
    except (OSError, EOFError) as error:
        raise refuse(f"it is a damaged or truncated .npy file ({error})") from error
