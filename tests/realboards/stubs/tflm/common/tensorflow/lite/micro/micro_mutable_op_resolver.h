/* STAND-IN for TFLM's MicroMutableOpResolver (tests only): the Add* methods kit's op
 * resolver header (model_ops.h) calls; it counts registrations and refuses more than N. */
#ifndef KIT_STUB_MICRO_MUTABLE_OP_RESOLVER_H
#define KIT_STUB_MICRO_MUTABLE_OP_RESOLVER_H
#include <cstdint>

typedef enum { kTfLiteOk = 0, kTfLiteError = 1 } TfLiteStatus;

namespace tflite {
class MicroOpResolver {
 public:
  virtual ~MicroOpResolver() = default;
  virtual unsigned registered() const = 0;
};

template <unsigned int tOpCount>
class MicroMutableOpResolver : public MicroOpResolver {
 public:
  unsigned registered() const override { return count_; }
#define KIT_STUB_ADD(name) \
  TfLiteStatus name() { return add(); }
  KIT_STUB_ADD(AddConv2D)
  KIT_STUB_ADD(AddDepthwiseConv2D)
  KIT_STUB_ADD(AddAveragePool2D)
  KIT_STUB_ADD(AddMaxPool2D)
  KIT_STUB_ADD(AddReshape)
  KIT_STUB_ADD(AddFullyConnected)
  KIT_STUB_ADD(AddSoftmax)
  KIT_STUB_ADD(AddAdd)
  KIT_STUB_ADD(AddMul)
  KIT_STUB_ADD(AddMean)
  KIT_STUB_ADD(AddPad)
  KIT_STUB_ADD(AddConcatenation)
  KIT_STUB_ADD(AddLogistic)
  KIT_STUB_ADD(AddQuantize)
  KIT_STUB_ADD(AddDequantize)
#undef KIT_STUB_ADD

 private:
  TfLiteStatus add()
  {
    if (count_ >= tOpCount) return kTfLiteError;
    count_++;
    return kTfLiteOk;
  }
  unsigned count_ = 0;
};
}  // namespace tflite
#endif
