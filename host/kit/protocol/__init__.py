"""The device protocol (docs/PROTOCOL.md): MLPerf Tiny DUT commands plus kit's `kit-` extensions."""

from __future__ import annotations

from kit.protocol.client import DeviceClient, DeviceInfo, KitInferReply, Layer, Memory, MLPERF_INPUT_BYTES
from kit.protocol.mlperf import InferReply, MlperfClient, ProtocolError, Reply

__all__ = [
    "DeviceClient", "DeviceInfo", "InferReply", "KitInferReply", "Layer", "Memory", "MLPERF_INPUT_BYTES",
    "MlperfClient", "ProtocolError", "Reply",
]
