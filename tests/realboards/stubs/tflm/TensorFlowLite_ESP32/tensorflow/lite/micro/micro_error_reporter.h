/* STAND-IN for TFLM's ErrorReporter / MicroErrorReporter as in TensorFlowLite_ESP32 1.0.0
 * (tests only; the real ErrorReporter lives in tensorflow/lite/core/api/error_reporter.h). */
#ifndef KIT_STUB_MICRO_ERROR_REPORTER_H
#define KIT_STUB_MICRO_ERROR_REPORTER_H
#include <cstdarg>

namespace tflite {
class ErrorReporter {
 public:
  virtual ~ErrorReporter() {}
  virtual int Report(const char *format, va_list args) = 0;
};

class MicroErrorReporter : public ErrorReporter {
 public:
  ~MicroErrorReporter() override {}
  int Report(const char *format, va_list args) override
  {
    (void)format;
    (void)args;
    return 0;
  }
};
}  // namespace tflite
#endif
