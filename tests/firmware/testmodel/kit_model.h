#ifndef KIT_MODEL_H
#define KIT_MODEL_H

#include "kit_runtime.h"

extern const kit_model_t kit_model;

#endif /* KIT_MODEL_H */
