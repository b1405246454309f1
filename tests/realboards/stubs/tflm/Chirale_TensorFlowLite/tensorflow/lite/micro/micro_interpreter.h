/* STAND-IN for MicroInterpreter as in Chirale_TensorFlowLite 2.0.0 (tests only): its only
 * arena constructor is (model, resolver, arena, size, MicroResourceVariables* = nullptr,
 * MicroProfilerInterface* = nullptr); there is no ErrorReporter overload. */
#ifndef KIT_STUB_MICRO_INTERPRETER_H
#define KIT_STUB_MICRO_INTERPRETER_H
#include "kit_stub_interpreter.h"
#include "tensorflow/lite/micro/micro_profiler_interface.h"

namespace tflite {
class MicroInterpreter : public KitStubInterpreterCore<MicroProfilerInterface> {
 public:
  MicroInterpreter(const Model *model, const MicroOpResolver &op_resolver, uint8_t *tensor_arena,
                   size_t tensor_arena_size, MicroResourceVariables *resource_variables = nullptr,
                   MicroProfilerInterface *profiler = nullptr)
      : KitStubInterpreterCore(model, op_resolver, tensor_arena, tensor_arena_size, profiler)
  {
    (void)resource_variables;
  }
};
}  // namespace tflite
#endif
