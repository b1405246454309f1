/*
 * kit runtime: executes an ahead-of-time compiled int8 model (kit_model.c, written by
 * kit.compile.emit_c) with portable C99 kernels that compute exactly what TensorFlow Lite
 * Micro's reference kernels compute.
 *
 * Why a plan instead of a flatbuffer: every shape, quantization multiplier and arena offset
 * is resolved on the host, so the device does no parsing, no allocation and no float math
 * for requantization. The structs below are what the generated code fills; the functions
 * at the end are the whole public API the firmware harness uses.
 */
#ifndef KIT_RUNTIME_H
#define KIT_RUNTIME_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KIT_RUNTIME_VERSION 1

/* Status codes returned by kit_model_invoke (0 = ok). */
#define KIT_OK 0
#define KIT_ERR_NULL (-1)          /* model or arena pointer is NULL */
#define KIT_ERR_ALIGNMENT (-2)     /* arena not 16-byte aligned */
#define KIT_ERR_UNKNOWN_OP (-3)    /* op type the runtime was built without */
#define KIT_ERR_BAD_PARAMS (-4)    /* inconsistent plan (e.g. empty pooling window) */
#define KIT_ERR_VERSION (-5)       /* model generated for another runtime version */

/* Every op the runtime executes, in enum order: X(NAME, name) gives the op its enum value
 * KIT_OP_<NAME>, its kernel kit_op_<name>() (a kit_kernel_fn in kernels/, declared in
 * kit_kernels.h) and the name kit_model_op_name reports (the TFLite builtin name). The
 * executor's kernel and name tables are generated from this list; kit.compile.ops.OPS is the
 * compiler's copy, kept equal by tests/compile/test_op_registry.py. */
#define KIT_OPS(X)                          \
    X(CONV_2D, conv_2d)                     \
    X(DEPTHWISE_CONV_2D, depthwise_conv_2d) \
    X(FULLY_CONNECTED, fully_connected)     \
    X(AVERAGE_POOL_2D, average_pool_2d)     \
    X(MAX_POOL_2D, max_pool_2d)             \
    X(ADD, add)                             \
    X(RESHAPE, reshape)                     \
    X(SOFTMAX, softmax)                     \
    X(MEAN, mean)                           \
    X(PAD, pad)                             \
    X(CONCATENATION, concatenation)         \
    X(MUL, mul)                             \
    X(LOGISTIC, logistic)                   \
    X(QUANTIZE, quantize)                   \
    X(DEQUANTIZE, dequantize)               \
    X(RELU, relu)                           \
    X(RELU6, relu6)                         \
    X(LEAKY_RELU, leaky_relu)               \
    X(HARD_SWISH, hard_swish)               \
    X(TRANSPOSE, transpose)                 \
    X(TANH, tanh)                           \
    X(RESIZE_NEAREST_NEIGHBOR, resize_nearest_neighbor) \
    X(RESIZE_BILINEAR, resize_bilinear)     \
    X(TILE, tile)                           \
    X(TRANSPOSE_CONV, transpose_conv)       \
    X(SUB, sub)                             \
    X(MAXIMUM, maximum)                     \
    X(MINIMUM, minimum)                     \
    X(SUM, sum)                             \
    X(STRIDED_SLICE, strided_slice)         \
    X(SLICE, slice)                         \
    X(PRELU, prelu)                         \
    X(RELU_N1_TO_1, relu_n1_to_1)

#define KIT_OP_ENUM_ENTRY(NAME, name) KIT_OP_##NAME,
typedef enum {
    KIT_OPS(KIT_OP_ENUM_ENTRY)
    KIT_OP_COUNT
} kit_op_type_t;
#undef KIT_OP_ENUM_ENTRY

typedef enum {
    KIT_TYPE_INT8 = 0,
    KIT_TYPE_INT32,
    KIT_TYPE_FLOAT32,
    KIT_TYPE_INT16,
    KIT_TYPE_UINT8,
    KIT_TYPE_INT64
} kit_type_t;

/* NHWC shape, extended to 4-D with leading 1s. */
typedef struct {
    int32_t n, h, w, c;
} kit_shape4_t;

/* One tensor: either in the arena (offset >= 0) or constant in flash (data != NULL). */
typedef struct {
    int32_t offset;
    const void *data;
    uint32_t bytes;
} kit_tensor_t;

/* CONV_2D, DEPTHWISE_CONV_2D and TRANSPOSE_CONV (TFLM ConvParams / DepthwiseParams, per-channel;
 * for TRANSPOSE_CONV, pad_h / pad_w are TFLM's padding of the output image).
 * filter is [out_c, kh, kw, in_c/groups] for CONV_2D and [1, kh, kw, out_c] for
 * DEPTHWISE_CONV_2D; bias may be NULL. */
typedef struct {
    kit_shape4_t input, filter, output;
    int32_t stride_h, stride_w, dilation_h, dilation_w, pad_h, pad_w;
    int32_t depth_multiplier; /* depthwise only */
    int32_t input_offset, output_offset, activation_min, activation_max;
    const int32_t *output_multiplier; /* one per output channel */
    const int32_t *output_shift;
    /* bias + input_offset * sum of the channel's filter taps, per output channel (the
     * compiler folds the input offset in); NULL when the kernel must not use it */
    const int32_t *kernel_bias;
    /* arena bytes [scratch_offset, scratch_offset + scratch_bytes) the kernel may use during
     * the op (planned by kit.compile.scratch, counted in the arena); 0 bytes: the kernel takes
     * a path that needs none */
    int32_t scratch_offset, scratch_bytes;
    /* CONV_2D with an ADD folded in (kit.compile.fuse): a kit_binary_params_t; each output
     * element is that ADD of the requantized convolution and element i of tensor
     * fused_add_input (the convolution second when fused_conv_is_input2). NULL: no ADD. */
    const void *fused_add;
    int32_t fused_add_input, fused_conv_is_input2;
} kit_conv_params_t;

/* FULLY_CONNECTED: per-tensor when per_channel == 0 (one multiplier), else one per unit. */
typedef struct {
    int32_t batches, accum_depth, output_depth;
    int32_t input_offset, weights_offset, output_offset, activation_min, activation_max;
    int32_t per_channel;
    const int32_t *output_multiplier;
    const int32_t *output_shift;
    const int32_t *kernel_bias; /* bias + input_offset * sum of the unit's weights; or NULL */
} kit_fc_params_t;

/* AVERAGE_POOL_2D and MAX_POOL_2D. */
typedef struct {
    kit_shape4_t input, output;
    int32_t stride_h, stride_w, filter_h, filter_w, pad_h, pad_w;
    int32_t activation_min, activation_max;
} kit_pool_params_t;

/* ADD and MUL (TFLM ArithmeticParams); shapes are the broadcast-extended 4-D shapes. */
typedef struct {
    kit_shape4_t input1, input2, output;
    int32_t requires_broadcast;
    int32_t left_shift;
    int32_t input1_offset, input2_offset, output_offset;
    int32_t input1_multiplier, input1_shift, input2_multiplier, input2_shift;
    int32_t output_multiplier, output_shift;
    int32_t activation_min, activation_max;
} kit_binary_params_t;

/* SOFTMAX int8 -> int8 (TFLM SoftmaxParams, gemmlowp fixed-point exp). */
typedef struct {
    int32_t input_multiplier, input_left_shift, diff_min, depth, outer_size;
} kit_softmax_params_t;

/* LOGISTIC and TANH int8 -> int8 (TFLM's OpData of both: Q4.27 input rescaling). */
typedef struct {
    int32_t input_zero_point, input_range_radius, input_multiplier, input_left_shift, size;
} kit_logistic_params_t;

/* MEAN over a set of axes of a (up to) 4-D int8 tensor. axis_mask bit d (0 = N .. 3 = C)
 * marks a reduced dim of the 4-D extended input shape; output has the reduced dims as 1.
 * TFLM's integer path: (sum - count * input_zp) * multiplier + output_zp, where the host
 * folded 1/count into multiplier and shift (MEAN; SUM keeps in_scale / out_scale). */
typedef struct {
    kit_shape4_t input, output;
    int32_t axis_mask;
    int32_t input_zero_point, output_zero_point, num_elements_in_axis;
    int32_t multiplier, shift;
} kit_mean_params_t;

/* PAD (4-D): output = input surrounded by pad_value. */
typedef struct {
    kit_shape4_t input, output;
    int32_t before[4];
    int32_t pad_value;
} kit_pad_params_t;

/* CONCATENATION as byte copies: per outer step, copy_sizes[i] bytes from input i. */
typedef struct {
    int32_t outer_size;
    int32_t num_inputs;
    const int32_t *copy_sizes;
} kit_concat_params_t;

/* QUANTIZE int8 -> int8 (requantize). */
typedef struct {
    int32_t input_zero_point, output_zero_point, output_multiplier, output_shift, size;
} kit_quantize_params_t;

/* DEQUANTIZE int8 -> float32. scale is the float32 scale widened to double, as TFLM does. */
typedef struct {
    int32_t zero_point, size;
    double scale;
} kit_dequantize_params_t;

/* RELU (TFLM ReluQuantized: requantize, then clamp to [activation_min, 127]) and LEAKY_RELU
 * (TFLM QuantizeLeakyRelu: the identity multiplier for x >= 0, the alpha one below). RELU
 * and RELU_N1_TO_1 (TensorFlow Lite's QuantizedReluX: bounds at the quantized -1 and 1) use
 * only the identity multiplier. */
typedef struct {
    int32_t input_zero_point, output_zero_point, size;
    int32_t identity_multiplier, identity_shift, alpha_multiplier, alpha_shift;
    int32_t activation_min, activation_max;
} kit_relu_params_t;

/* RELU6 int8 (TFLM Relu6Quantized): clamp to [lower, upper] in the input's quantization,
 * no rescaling (TFLM reads neither the output scale nor its zero point). */
typedef struct {
    int32_t lower, upper, size;
} kit_relu6_params_t;

/* HARD_SWISH int8 (TFLM HardSwishParams: 16-bit fixed-point multipliers). */
typedef struct {
    int32_t input_zero_point, output_zero_point, size;
    int32_t reluish_multiplier, reluish_exponent; /* int16 fixed point, power-of-two exponent */
    int32_t output_multiplier, output_exponent;   /* output_exponent <= 0 */
} kit_hard_swish_params_t;

/* TRANSPOSE of up to 6 dims: output index (o_0..o_{r-1}) reads input element
 * sum(o_d * input_stride[d]), where input_stride[d] is the input stride of dim perm[d]. */
#define KIT_TRANSPOSE_MAX_DIMS 6
typedef struct {
    int32_t rank, element_bytes;
    int32_t start; /* input element of output element 0 (slices; 0 for TRANSPOSE) */
    int32_t output_shape[KIT_TRANSPOSE_MAX_DIMS];
    int32_t input_stride[KIT_TRANSPOSE_MAX_DIMS];
} kit_transpose_params_t;

/* RESIZE_NEAREST_NEIGHBOR: output row y copies input row y_map[y], column x column x_map[x]
 * (TFLM's float GetNearestNeighbor, evaluated by the compiler). */
typedef struct {
    kit_shape4_t input, output;
    const int32_t *y_map, *x_map;
} kit_resize_nearest_params_t;

/* RESIZE_BILINEAR int8 (TFLM ResizeBilinearInteger): scales in 1/1024. */
typedef struct {
    kit_shape4_t input, output;
    int32_t height_scale_10, width_scale_10, half_pixel_centers;
} kit_resize_bilinear_params_t;

/* TILE (int8, up to 6 dims): output dim d is input_shape[d] * multiples[d]; input_stride[d]
 * is the input's element stride of dim d. */
#define KIT_TILE_MAX_DIMS 6
typedef struct {
    int32_t rank;
    int32_t input_shape[KIT_TILE_MAX_DIMS];
    int32_t output_shape[KIT_TILE_MAX_DIMS];
    int32_t input_stride[KIT_TILE_MAX_DIMS];
} kit_tile_params_t;

/* RESHAPE: a byte copy unless the planner aliased input and output (then bytes == 0). */
typedef struct {
    int32_t bytes;
} kit_reshape_params_t;

typedef struct {
    int32_t type;            /* kit_op_type_t */
    int32_t num_inputs;
    const int16_t *inputs;   /* tensor indices; -1 marks an absent optional input */
    int16_t output;          /* every supported op has one output */
    const void *params;      /* one of the kit_*_params_t above, by type */
} kit_op_t;

struct kit_model {
    int32_t runtime_version;
    const char *id;
    const char *sha256;
    uint32_t arena_bytes;
    int32_t num_tensors;
    const kit_tensor_t *tensors;
    int32_t num_ops;
    const kit_op_t *ops;
    int16_t input_tensor, output_tensor;
    int32_t input_type, output_type; /* kit_type_t */
    float input_scale, output_scale;
    int32_t input_zero_point, output_zero_point;
};

typedef struct kit_model kit_model_t;

/* Called before (after == 0) and after (after == 1) each op: per-layer timing. */
typedef void (*kit_op_hook_t)(void *ctx, uint32_t op_index, int after);

uint32_t kit_model_arena_bytes(const kit_model_t *m);
int8_t *kit_model_input(const kit_model_t *m, uint8_t *arena);
const int8_t *kit_model_output(const kit_model_t *m, const uint8_t *arena);
uint32_t kit_model_input_bytes(const kit_model_t *m);
uint32_t kit_model_output_bytes(const kit_model_t *m);
int kit_model_invoke(const kit_model_t *m, uint8_t *arena, kit_op_hook_t hook, void *ctx);
uint32_t kit_model_op_count(const kit_model_t *m);
const char *kit_model_op_name(const kit_model_t *m, uint32_t i);
const char *kit_model_id(const kit_model_t *m);
const char *kit_model_sha256(const kit_model_t *m);

#ifdef __cplusplus
}
#endif

#endif /* KIT_RUNTIME_H */
