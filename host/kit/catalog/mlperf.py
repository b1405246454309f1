"""Which model id a board reports: the MLPerf Tiny benchmark id when there is one.

The unmodified MLPerf Tiny runner picks its test from the id in `m-model-[...]` (`kws01`,
`vww01`, `ic01`, `ad01`, `sww01`) and stops on any other, so a lab with an MLPerf
counterpart and the MLPerf reference models themselves (known by their sha256, listed in
models/mlperf-tiny.toml) report that id; everything else reports its lab or file name.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from functools import lru_cache
from pathlib import Path

from kit.errors import CatalogError, KitError
from kit.paths import MODELS_DIR

MLPERF_TABLE = MODELS_DIR / "mlperf-tiny.toml"
# What the device protocol can carry: printable ASCII without spaces, brackets or `%`.
MODEL_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")


@lru_cache(maxsize=1)
def mlperf_reference_ids() -> dict[str, str]:
    """sha256 of each MLPerf Tiny reference model -> its benchmark id."""
    try:
        table = tomllib.loads(MLPERF_TABLE.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise CatalogError(f"cannot read {MLPERF_TABLE}: {error}", hint="restore the file from the repository") from error
    return {entry["sha256"]: entry["id"] for entry in table.get("model", [])}


def mlperf_id_of(model: bytes) -> str | None:
    """The MLPerf Tiny id of a reference model, by content; None for any other model."""
    return mlperf_reference_ids().get(hashlib.sha256(model).hexdigest())


def checked_model_id(model_id: str) -> str:
    """A user's --model-id, refused when the device protocol could not carry it."""
    if not MODEL_ID_PATTERN.match(model_id):
        raise KitError(
            f"model id '{model_id}' cannot be reported by a board",
            hint="use 1-32 letters, digits, '_', '-' or '.', starting with a letter or digit (e.g. kws01)",
        )
    return model_id


def model_id_for(model_path: Path, lab: str | None, from_lab: bool, explicit: str | None = None) -> str | None:
    """The id a board running `model_path` reports: --model-id, else the MLPerf id (the
    reference model's content, or the lab's `mlperf_model_id` for the lab's own model), else
    the lab's name for the lab's model, else None (the compiler then takes the card's lab or
    the file name)."""
    if explicit is not None:
        return checked_model_id(explicit)
    found = mlperf_id_of(Path(model_path).read_bytes())
    if found is not None:
        return found
    if from_lab and lab is not None:
        from kit.catalog import get_lab

        return get_lab(lab).mlperf_model_id or lab
    return None
