/* STAND-IN for TFLite's flatbuffer schema (tests only): an opaque Model and GetModel. */
#ifndef KIT_STUB_SCHEMA_GENERATED_H
#define KIT_STUB_SCHEMA_GENERATED_H
namespace tflite {
struct Model;
inline const Model *GetModel(const void *buffer) { return static_cast<const Model *>(buffer); }
}  // namespace tflite
#endif
