/*
 * The kit runtime API (kit_runtime.h) on top of TensorFlow Lite Micro, so the unchanged
 * firmware harness can run a model through TFLM's MicroInterpreter instead of kit's own
 * compiled plan: students compare the two engines on one board with the same protocol.
 *
 * Inputs: model_data.h/.cc and model_ops.h from `kit convert` (the .tflite as a C array and
 * an op resolver with exactly the model's ops), and kit_model.h + kit_tflm_info.h written by
 * `kit project --engine tflm` (ids, tensor sizes, per-node op names). The TFLM library itself
 * comes from the board's PlatformIO lib_deps (kit_tflm_library.h includes its header and says
 * which MicroInterpreter constructor and profiler type its pinned version has: the libraries
 * differ, see firmware/engines/tflm/libraries.toml).
 *
 * The interpreter is built on the first call, in the arena the harness passes (static, no
 * heap). Per-layer timing comes from a profiler whose events are TFLM's per-node events.
 */
#include <stddef.h>
#include <stdint.h>

#include "kit_tflm_library.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/schema/schema_generated.h"
#if KIT_TFLM_PROFILER_INTERFACE
#include "tensorflow/lite/micro/micro_profiler_interface.h"
#else
#include "tensorflow/lite/micro/micro_profiler.h"
#endif
#if KIT_TFLM_INTERPRETER_ERROR_REPORTER
#include "tensorflow/lite/micro/micro_error_reporter.h"
#endif

#include "kit_model.h"
#include "kit_tflm_info.h"
#include "model_data.h"
#include "model_ops.h"

/* Failure codes beyond kit_runtime.h's: TFLM could not set the model up, or Invoke failed. */
#define KIT_TFLM_ERR_SETUP (-20)
#define KIT_TFLM_ERR_INVOKE (-21)
#define KIT_ARENA_ALIGNMENT 16u

namespace {

#if KIT_TFLM_PROFILER_INTERFACE
typedef tflite::MicroProfilerInterface ProfilerBase;
#else
typedef tflite::MicroProfiler ProfilerBase;
#endif

/* Forwards TFLM's per-node profiling events to the harness's op hook while an invoke runs. */
class HookProfiler : public ProfilerBase {
 public:
  void Arm(kit_op_hook_t hook, void *ctx)
  {
    hook_ = hook;
    ctx_ = ctx;
    next_op_ = 0;
  }

  void Disarm()
  {
    hook_ = nullptr;
  }

  uint32_t BeginEvent(const char *tag) override
  {
    (void)tag;
    uint32_t op_index = next_op_++;
    if (hook_ != nullptr) {
      hook_(ctx_, op_index, 0);
    }
    return op_index;
  }

  void EndEvent(uint32_t event_handle) override
  {
    if (hook_ != nullptr) {
      hook_(ctx_, event_handle, 1);
    }
  }

 private:
  kit_op_hook_t hook_ = nullptr;
  void *ctx_ = nullptr;
  uint32_t next_op_ = 0;
#ifdef TF_LITE_REMOVE_VIRTUAL_DELETE
  TF_LITE_REMOVE_VIRTUAL_DELETE
#endif
};

struct Engine {
  tflite::MicroInterpreter *interpreter;
  HookProfiler *profiler;
  const uint8_t *arena;
  bool ready;
};

Engine engine = {nullptr, nullptr, nullptr, false};

/* Where kit_model_input points when TFLM could not be set up (the harness still copies in). */
int8_t fallback_input[KIT_MODEL_INPUT_BYTES];
int8_t fallback_output[KIT_MODEL_OUTPUT_BYTES];

size_t tensor_bytes(const TfLiteTensor *tensor)
{
  return tensor == nullptr ? 0u : tensor->bytes;
}

bool tensors_match(tflite::MicroInterpreter &interpreter)
{
  const TfLiteTensor *input = interpreter.input(0);
  const TfLiteTensor *output = interpreter.output(0);
  return input != nullptr && output != nullptr && input->type == kTfLiteInt8 &&
         output->type == kTfLiteInt8 && tensor_bytes(input) == KIT_MODEL_INPUT_BYTES &&
         tensor_bytes(output) == KIT_MODEL_OUTPUT_BYTES;
}

/* Build the interpreter once, in the first arena the harness hands over. */
Engine &engine_for(uint8_t *arena)
{
  static HookProfiler profiler;
  static ModelOpResolver resolver;
  static const bool registered = RegisterModelOps(resolver) == kTfLiteOk;
#if KIT_TFLM_INTERPRETER_ERROR_REPORTER
  static tflite::MicroErrorReporter error_reporter;
  static tflite::MicroInterpreter interpreter(
      tflite::GetModel(g_model), resolver, arena, KIT_MODEL_ARENA_BYTES, &error_reporter,
      static_cast<tflite::MicroResourceVariables *>(nullptr), &profiler);
#else
  static tflite::MicroInterpreter interpreter(
      tflite::GetModel(g_model), resolver, arena, KIT_MODEL_ARENA_BYTES,
      static_cast<tflite::MicroResourceVariables *>(nullptr), &profiler);
#endif
  if (engine.interpreter == nullptr) {
    engine.interpreter = &interpreter;
    engine.profiler = &profiler;
    engine.arena = arena;
    engine.ready = registered && interpreter.AllocateTensors() == kTfLiteOk && tensors_match(interpreter);
  }
  return engine;
}

bool usable(uint8_t *arena)
{
  return arena != nullptr && engine_for(arena).ready && engine.arena == arena;
}

}  // namespace

extern "C" const kit_model_t kit_model = {
    KIT_RUNTIME_VERSION, KIT_MODEL_ID, KIT_MODEL_SHA256, KIT_MODEL_ARENA_BYTES,
    0, nullptr, (int32_t)KIT_MODEL_OP_COUNT, nullptr, 0, 0, KIT_TYPE_INT8, KIT_TYPE_INT8,
    KIT_MODEL_INPUT_SCALE, KIT_MODEL_OUTPUT_SCALE, KIT_MODEL_INPUT_ZERO_POINT, KIT_MODEL_OUTPUT_ZERO_POINT,
};

extern "C" uint32_t kit_model_arena_bytes(const kit_model_t *m)
{
  if (engine.ready) {
    return (uint32_t)engine.interpreter->arena_used_bytes();
  }
  return m == nullptr ? 0u : m->arena_bytes;
}

extern "C" int8_t *kit_model_input(const kit_model_t *m, uint8_t *arena)
{
  (void)m;
  if (!usable(arena)) {
    return fallback_input;
  }
  return engine.interpreter->input(0)->data.int8;
}

extern "C" const int8_t *kit_model_output(const kit_model_t *m, const uint8_t *arena)
{
  (void)m;
  if (!engine.ready || arena != engine.arena) {
    return fallback_output;
  }
  return engine.interpreter->output(0)->data.int8;
}

extern "C" uint32_t kit_model_input_bytes(const kit_model_t *m)
{
  (void)m;
  return KIT_MODEL_INPUT_BYTES;
}

extern "C" uint32_t kit_model_output_bytes(const kit_model_t *m)
{
  (void)m;
  return KIT_MODEL_OUTPUT_BYTES;
}

extern "C" int kit_model_invoke(const kit_model_t *m, uint8_t *arena, kit_op_hook_t hook, void *ctx)
{
  TfLiteStatus status;
  if (m == nullptr || arena == nullptr) {
    return KIT_ERR_NULL;
  }
  if (((uintptr_t)arena % KIT_ARENA_ALIGNMENT) != 0u) {
    return KIT_ERR_ALIGNMENT;
  }
  if (!usable(arena)) {
    return KIT_TFLM_ERR_SETUP;
  }
  engine.profiler->Arm(hook, ctx);
  status = engine.interpreter->Invoke();
  engine.profiler->Disarm();
  return status == kTfLiteOk ? KIT_OK : KIT_TFLM_ERR_INVOKE;
}

extern "C" uint32_t kit_model_op_count(const kit_model_t *m)
{
  (void)m;
  return KIT_MODEL_OP_COUNT;
}

extern "C" const char *kit_model_op_name(const kit_model_t *m, uint32_t i)
{
  (void)m;
  return i < KIT_MODEL_OP_COUNT ? kit_tflm_op_names[i] : "?";
}

extern "C" const char *kit_model_id(const kit_model_t *m)
{
  return m == nullptr ? "" : m->id;
}

extern "C" const char *kit_model_sha256(const kit_model_t *m)
{
  return m == nullptr ? "" : m->sha256;
}
