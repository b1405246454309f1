/*
 * STAND-IN for the part of TFLM's MicroInterpreter that every pinned Arduino library shares
 * (tests only; no TFLM source is installable offline). Each library's own
 * tensorflow/lite/micro/micro_interpreter.h (stubs/tflm/<library>/) declares exactly that
 * version's constructors on top of this core, so a call the real library would reject is
 * rejected here too. The core does not read the flatbuffer: tensor sizes and the node count
 * come from -DKIT_STUB_INPUT_BYTES / KIT_STUB_OUTPUT_BYTES / KIT_STUB_NODES, and Invoke
 * computes out[k] = sum_i in[i] * (i + k + 1) mod 256, firing one profiler event per node.
 */
#ifndef KIT_STUB_INTERPRETER_H
#define KIT_STUB_INTERPRETER_H
#include <cstddef>
#include <cstdint>

#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/schema/schema_generated.h"

typedef enum { kTfLiteNoType = 0, kTfLiteFloat32 = 1, kTfLiteInt8 = 9 } TfLiteType;

typedef struct {
  TfLiteType type;
  size_t bytes;
  union {
    int8_t *int8;
    void *raw;
  } data;
} TfLiteTensor;

namespace tflite {
class MicroResourceVariables;

/* Profiler is the type this library version's constructor takes (MicroProfiler or
 * MicroProfilerInterface). */
template <class Profiler>
class KitStubInterpreterCore {
 public:
  TfLiteStatus AllocateTensors()
  {
    size_t needed = KIT_STUB_INPUT_BYTES + KIT_STUB_OUTPUT_BYTES;
    if (model_ == nullptr || resolver_.registered() == 0 || arena_size_ < needed) return kTfLiteError;
    input_ = {kTfLiteInt8, KIT_STUB_INPUT_BYTES, {reinterpret_cast<int8_t *>(arena_)}};
    output_ = {kTfLiteInt8, KIT_STUB_OUTPUT_BYTES, {reinterpret_cast<int8_t *>(arena_ + KIT_STUB_INPUT_BYTES)}};
    used_ = needed;
    return kTfLiteOk;
  }

  TfLiteStatus Invoke()
  {
    if (used_ == 0) return kTfLiteError;
    for (uint32_t node = 0; node < KIT_STUB_NODES; node++) {
      uint32_t handle = profiler_ ? profiler_->BeginEvent("STUB") : 0;
      if (node + 1 == KIT_STUB_NODES) compute();
      if (profiler_) profiler_->EndEvent(handle);
    }
    return kTfLiteOk;
  }

  TfLiteTensor *input(size_t index) { return index == 0 && used_ ? &input_ : nullptr; }
  TfLiteTensor *output(size_t index) { return index == 0 && used_ ? &output_ : nullptr; }
  size_t arena_used_bytes() const { return used_; }

 protected:
  KitStubInterpreterCore(const Model *model, const MicroOpResolver &op_resolver, uint8_t *tensor_arena,
                         size_t tensor_arena_size, Profiler *profiler)
      : model_(model), resolver_(op_resolver), arena_(tensor_arena), arena_size_(tensor_arena_size),
        profiler_(profiler)
  {
  }

 private:
  void compute()
  {
    const uint8_t *in = reinterpret_cast<const uint8_t *>(input_.data.int8);
    for (size_t k = 0; k < KIT_STUB_OUTPUT_BYTES; k++) {
      uint32_t sum = 0;
      for (size_t i = 0; i < KIT_STUB_INPUT_BYTES; i++) sum += (uint32_t)in[i] * (uint32_t)(i + k + 1);
      output_.data.int8[k] = (int8_t)(uint8_t)(sum & 0xFFu);
    }
  }

  const Model *model_;
  const MicroOpResolver &resolver_;
  uint8_t *arena_;
  size_t arena_size_;
  Profiler *profiler_;
  TfLiteTensor input_ = {kTfLiteNoType, 0, {nullptr}};
  TfLiteTensor output_ = {kTfLiteNoType, 0, {nullptr}};
  size_t used_ = 0;
};
}  // namespace tflite
#endif
