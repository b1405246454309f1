/* STAND-IN for MicroInterpreter as in TensorFlowLite_ESP32 1.0.0 (tests only): its only
 * arena constructor takes an ErrorReporter* fifth: (model, resolver, arena, size,
 * ErrorReporter*, MicroResourceVariables* = nullptr, MicroProfiler* = nullptr). */
#ifndef KIT_STUB_MICRO_INTERPRETER_H
#define KIT_STUB_MICRO_INTERPRETER_H
#include "kit_stub_interpreter.h"
#include "tensorflow/lite/micro/micro_error_reporter.h"
#include "tensorflow/lite/micro/micro_profiler.h"

namespace tflite {
class MicroInterpreter : public KitStubInterpreterCore<MicroProfiler> {
 public:
  MicroInterpreter(const Model *model, const MicroOpResolver &op_resolver, uint8_t *tensor_arena,
                   size_t tensor_arena_size, ErrorReporter *error_reporter,
                   MicroResourceVariables *resource_variables = nullptr, MicroProfiler *profiler = nullptr)
      : KitStubInterpreterCore(model, op_resolver, tensor_arena, tensor_arena_size, profiler)
  {
    (void)error_reporter;
    (void)resource_variables;
  }
};
}  // namespace tflite
#endif
