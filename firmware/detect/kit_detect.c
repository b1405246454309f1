/* FOMO grid decoder (see kit_detect.h). */
#include "kit_detect.h"

static int16_t cell_label[KIT_DETECT_MAX_CELLS]; /* best class of an active cell, else 0 */
static int8_t cell_score[KIT_DETECT_MAX_CELLS];
static uint8_t cell_seen[KIT_DETECT_MAX_CELLS];
static uint16_t fill_stack[KIT_DETECT_MAX_CELLS];

/* floor(threshold / scale + zero_point) without libm (the firmware links none): truncate, then
 * step down for a negative fraction. The value is a few hundred at most for any int8 grid. */
int32_t kit_detect_threshold_q(float threshold, float scale, int32_t zero_point) {
    const float q = threshold / scale + (float)zero_point;
    int32_t whole;
    if (!(q > -1.0e6f)) { /* also NaN */
        return -1000000;
    }
    if (q > 1.0e6f) {
        return 1000000;
    }
    whole = (int32_t)q;
    return (float)whole > q ? whole - 1 : whole;
}

static void classify_cells(const int8_t *scores, int32_t cells, int32_t classes, int32_t threshold_q) {
    for (int32_t i = 0; i < cells; ++i) {
        const int8_t *cell = scores + i * classes;
        int32_t best = 0;
        for (int32_t k = 1; k < classes; ++k) {
            if (cell[k] > cell[best]) {
                best = k;
            }
        }
        cell_score[i] = cell[best];
        cell_label[i] = (int16_t)((best >= 1 && (int32_t)cell[best] > threshold_q) ? best : 0);
        cell_seen[i] = 0;
    }
}

/* Flood-fill the blob holding cell `start`; returns its detection. */
static kit_detection fill_blob(int32_t start, int32_t rows, int32_t cols) {
    int16_t label = cell_label[start];
    int32_t top = 0, count = 0;
    float row_sum = 0.0f, col_sum = 0.0f;
    int8_t best = cell_score[start];
    fill_stack[top++] = (uint16_t)start;
    cell_seen[start] = 1;
    while (top > 0) {
        int32_t at = fill_stack[--top];
        int32_t r = at / cols, c = at % cols;
        row_sum += (float)r;
        col_sum += (float)c;
        ++count;
        if (cell_score[at] > best) {
            best = cell_score[at];
        }
        for (int32_t n = 0; n < 9; ++n) { /* the 8 neighbours (n == 4 is the cell itself, seen) */
            int32_t nr = r + n / 3 - 1, nc = c + n % 3 - 1;
            if (nr < 0 || nr >= rows || nc < 0 || nc >= cols) {
                continue;
            }
            int32_t index = nr * cols + nc;
            if (!cell_seen[index] && cell_label[index] == label) {
                cell_seen[index] = 1;
                fill_stack[top++] = (uint16_t)index;
            }
        }
    }
    kit_detection found;
    found.row = row_sum / (float)count + 0.5f;
    found.col = col_sum / (float)count + 0.5f;
    found.label = label;
    found.score = best;
    return found;
}

int32_t kit_detect_decode(const int8_t *scores, int32_t rows, int32_t cols, int32_t classes,
                          int32_t threshold_q, kit_detection *out, int32_t max_out) {
    if (rows <= 0 || cols <= 0 || rows * cols > KIT_DETECT_MAX_CELLS || classes < 2) {
        return -1;
    }
    int32_t cells = rows * cols, found = 0;
    classify_cells(scores, cells, classes, threshold_q);
    for (int32_t i = 0; i < cells; ++i) {
        if (cell_label[i] == 0 || cell_seen[i]) {
            continue;
        }
        kit_detection blob = fill_blob(i, rows, cols);
        if (found < max_out) {
            out[found] = blob;
        }
        ++found;
    }
    return found;
}
