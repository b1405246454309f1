"""Bring models made elsewhere (ONNX) into kit's int8 TFLite form."""
