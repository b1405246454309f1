/* STAND-IN for TFLM's MicroMutableOpResolver (tests only). It declares exactly the Add*
 * methods of the library version whose stand-in folder is on the include path
 * (kit_stub_resolver_methods.h there, checked against tests/realboards/data/tflm_resolvers.toml,
 * which records the real names), so model_ops.h calling a method that version lacks fails
 * to compile as it would on the board. It counts registrations and refuses more than N. */
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
#include "kit_stub_resolver_methods.h"
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
