/* FOMO grid decoder: per-cell int8 class scores -> objects (centroid, class, score).
 *
 * The same rule as the host's kit.train.detection.decode_grid: a cell is active when its best
 * class (first maximum) is an object class (index >= 1) and its score is above the threshold;
 * active neighbours (8-connected) of the same class form one object at the mean of their cell centres
 * (cell centres at .5), scored by its best cell. Objects come in row-major order of their first
 * cell. C99, no dynamic allocation; uses a static work buffer, so it is not reentrant. */
#ifndef KIT_DETECT_H
#define KIT_DETECT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KIT_DETECT_MAX_CELLS 1024 /* rows * cols at most (a 32x32 grid) */

typedef struct {
    float row;     /* centroid, in grid cells */
    float col;
    int16_t label; /* class index, >= 1 */
    int8_t score;  /* best cell's quantized score */
} kit_detection;

/* The quantized threshold for a float score threshold: a cell is active when q > result. */
int32_t kit_detect_threshold_q(float threshold, float scale, int32_t zero_point);

/* Decode a (rows, cols, classes) int8 grid, row-major with classes innermost. Writes at most
 * max_out objects to out and returns how many there are (may exceed max_out: only the first
 * max_out are written), or -1 when the grid is larger than KIT_DETECT_MAX_CELLS or classes < 2. */
int32_t kit_detect_decode(const int8_t *scores, int32_t rows, int32_t cols, int32_t classes,
                          int32_t threshold_q, kit_detection *out, int32_t max_out);

#ifdef __cplusplus
}
#endif

#endif /* KIT_DETECT_H */
