"""kit model compiler: .tflite reader, plan builder, memory planner, TFLM C arrays."""
