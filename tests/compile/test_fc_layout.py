"""The interleaved FULLY_CONNECTED weight layout is exactly the order the runtime's
kit_mat_1x4_blocked reads (per 4 units: 4-byte groups row after row, then the tails)."""

from __future__ import annotations

import numpy as np
import pytest

from kit.compile.emit_c import interleave_fc_weights


def _reference_order(units: int, depth: int) -> list[tuple[int, int]]:
    """(unit, k) of every stored byte, in storage order, written the way the C kernel walks."""
    order = []
    full, k4 = units // 4 * 4, depth // 4 * 4
    for block in range(0, full, 4):
        for k in range(0, k4, 4):
            order += [(block + r, k + j) for r in range(4) for j in range(4)]
        order += [(block + r, k) for r in range(4) for k in range(k4, depth)]
    order += [(u, k) for u in range(full, units) for k in range(depth)]
    return order


@pytest.mark.parametrize("units,depth", [(1, 7), (3, 420), (4, 4), (4, 6), (8, 64), (10, 13), (128, 640), (5, 3), (8, 1)])
def test_interleaved_layout_is_the_kernels_read_order(units, depth):
    weights = np.random.default_rng(units * 1000 + depth).integers(-128, 128, (units, depth), dtype=np.int8)
    stored = interleave_fc_weights(weights)
    expected = np.array([weights[u, k] for u, k in _reference_order(units, depth)], dtype=np.int8)
    assert stored.dtype == np.int8 and np.array_equal(stored, expected)
