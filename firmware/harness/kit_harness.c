#include "kit_harness.h"

#include <string.h>

#include "kit_model.h" /* first: kit_config.h sizes the buffers from its macros */
#include "kit_runtime.h"

#include "kit_codec.h"
#include "kit_config.h"
#include "kit_hal.h"
#include "kit_line.h"
#include "kit_out.h"
#include "kit_power.h"
#include "kit_sensing.h"
#include "kit_stack.h"

#define KIT_PROTOCOL_VERSION 1
#define KIT_MAX_TOKENS 8
#define KIT_UNKNOWN_ECHO_CHARS 20u

#ifndef KIT_RUNTIME_VERSION
#define KIT_RUNTIME_VERSION 0
#endif

/* ------------------------------------------------------------------ state */

static uint8_t arena[KIT_ARENA_CAPACITY] __attribute__((aligned(16)));
static uint8_t input_buffer[KIT_INPUT_CAPACITY];
static uint64_t op_ticks[KIT_MAX_OPS];
static uint64_t op_started;
/* kit-power: the samples of the run in progress (start, around each op, end). */
static kit_power_sample_t power_samples[KIT_POWER_MAX_SAMPLES];
static uint32_t power_count;
static uint32_t power_dropped;
static uint64_t power_started;
static int power_failed;

static kit_line_t reader;
static uint32_t input_expected; /* 0: no load in progress */
static uint32_t input_filled;
static uint32_t input_crc;
static int have_result;
static const char *model_problem; /* NULL when the model fits the static buffers */
static int console_polls;         /* kit_hal_getc returns at once (all but the host build) */
/* A command line that arrived during a long infer: it runs when that command is done. */
static kit_line_status_t pending_line;

/* ------------------------------------------------------------------ helpers */

static void reply_ready(void)
{
    kit_out_line("m-ready");
}

static void reply_error(const char *message)
{
    kit_out_error(message);
    reply_ready();
}

static int split_tokens(char *line, char **tokens)
{
    int count = 0;
    while (*line != '\0') {
        while (*line == ' ') {
            *line++ = '\0';
        }
        if (*line == '\0') {
            break;
        }
        if (count == KIT_MAX_TOKENS) {
            return -1;
        }
        tokens[count++] = line;
        while (*line != '\0' && *line != ' ') {
            line++;
        }
    }
    return count;
}

/* Parse token `index` as a number, or `fallback` when absent. Prints the error itself. */
static int number_argument(char **tokens, int count, int index, uint32_t fallback, uint32_t *value)
{
    if (index >= count) {
        *value = fallback;
        return 0;
    }
    if (kit_parse_u32(tokens[index], value) != 0) {
        kit_out_str("e-[bad number: ");
        kit_out_sanitized(tokens[index], KIT_UNKNOWN_ECHO_CHARS);
        kit_out_str("]");
        kit_out_end();
        reply_ready();
        return -1;
    }
    return 0;
}

static void start_input(uint32_t bytes)
{
    input_expected = bytes;
    input_filled = 0;
    input_crc = 0;
}

static int append_input(const uint8_t *data, uint32_t length)
{
    memcpy(input_buffer + input_filled, data, length);
    input_crc = kit_crc32_update(input_crc, data, length);
    input_filled += length;
    return input_filled == input_expected;
}

static int is_cancel_line(const char *text)
{
    static const char word[] = "kit-cancel";
    while (*text == ' ') {
        text++;
    }
    if (strncmp(text, word, sizeof word - 1u) != 0) {
        return 0;
    }
    text += sizeof word - 1u;
    while (*text == ' ') {
        text++;
    }
    return *text == '\0';
}

/* Between runs: has `kit-cancel` arrived? Then the command in progress stops (so an
 * `infer 4294967295` typed by mistake can be ended). Any other line that arrives is kept and
 * runs after the current command, as it would have anyway (hosts may send several commands
 * at once). Only where reading the console does not block: the host build's getc waits, so
 * there only the KIT_MAX_RUNS cap bounds a command. */
static int cancel_requested(void)
{
    int byte;
    if (pending_line == KIT_LINE_NONE && console_polls) {
        while ((byte = kit_hal_getc()) >= 0) {
            pending_line = kit_line_feed(&reader, (uint8_t)byte);
            if (pending_line != KIT_LINE_NONE) {
                break;
            }
        }
    }
    /* kit-cancel stays pending: it gets its own reply (`m-ready`) after the cancelled one's. */
    return pending_line == KIT_LINE_READY && is_cancel_line(reader.text);
}

static void reply_cancelled(uint32_t done, uint32_t runs)
{
    kit_out_str("e-[cancelled after ");
    kit_out_u64(done);
    kit_out_str(" of ");
    kit_out_u64(runs);
    kit_out_str(" runs]");
    kit_out_end();
    reply_ready();
}

/* Parse a run count in low..KIT_MAX_RUNS (prints the error itself). */
static int runs_argument(char **tokens, int count, int index, uint32_t fallback, uint32_t low, uint32_t *value)
{
    if (number_argument(tokens, count, index, fallback, value) != 0) {
        return -1;
    }
    if (*value < low || *value > KIT_MAX_RUNS) {
        kit_out_str(index == 1 ? "e-[runs must be " : "e-[warm-up runs must be ");
        kit_out_u64(low);
        kit_out_str("..");
        kit_out_u64(KIT_MAX_RUNS);
        kit_out_str("]");
        kit_out_end();
        reply_ready();
        return -1;
    }
    return 0;
}

static uint64_t ticks_to_us(uint64_t ticks)
{
    uint64_t hz = kit_hal_timer_hz();
    return (ticks / hz) * 1000000u + ((ticks % hz) * 1000000u) / hz;
}

static void print_lap(uint64_t microseconds)
{
    kit_out_str("m-lap-us-");
    kit_out_u64(microseconds);
    kit_out_end();
}

/* Per-op timing hook: each op starts on a synced tick, so per-op counts repeat exactly too
 * (the sync costs about one tick per op, inside kit-infer's total). */
static void record_op(void *ctx, uint32_t op_index, int after)
{
    (void)ctx;
    if (!after) {
        kit_hal_timer_sync();
        op_started = kit_hal_ticks();
    } else if (op_index < KIT_MAX_OPS) {
        op_ticks[op_index] = kit_hal_ticks() - op_started;
    }
}

/* kit-power: one sensor reading into the run's table (the I2C time is inside the run). */
static void power_sample(void)
{
    int32_t current_ua;
    uint32_t bus_mv;
    uint64_t now = kit_hal_ticks();
    if (kit_power_read(&current_ua, &bus_mv) != 0) {
        power_failed = 1;
        return;
    }
    if (power_count >= KIT_POWER_MAX_SAMPLES) {
        power_dropped++;
        return;
    }
    power_samples[power_count].dt_ticks = (uint32_t)(now - power_started);
    power_samples[power_count].current_ua = current_ua;
    power_samples[power_count].bus_mv = bus_mv;
    power_count++;
}

/* kit-power's hook: the per-op timing of kit-infer, with a reading before and after each op
 * (outside the op's own ticks, inside the run's). */
static void record_op_power(void *ctx, uint32_t op_index, int after)
{
    if (!after) {
        power_sample();
        record_op(ctx, op_index, 0);
    } else {
        record_op(ctx, op_index, 1);
        power_sample();
    }
}

/* Copy the loaded input into the model and run it once. */
static int run_once(kit_op_hook_t hook)
{
    memcpy(kit_model_input(&kit_model, arena), input_buffer, kit_model_input_bytes(&kit_model));
    return kit_model_invoke(&kit_model, arena, hook, 0);
}

static void print_invoke_failure(int status)
{
    kit_out_str("e-[invoke failed: ");
    kit_out_i32(status);
    kit_out_str("]");
    kit_out_end();
    reply_ready();
}

/* Dequantisation scale for m-results: the model's, else the int8 softmax convention. */
static float results_scale(void)
{
    return (KIT_OUTPUT_SCALE) > 0.0f ? (float)(KIT_OUTPUT_SCALE) : 1.0f / 256.0f;
}

static int32_t results_zero_point(void)
{
    return (KIT_OUTPUT_SCALE) > 0.0f ? (int32_t)(KIT_OUTPUT_ZERO_POINT) : -128;
}

static void print_results(void)
{
    const float scale = results_scale();
    const int32_t zero_point = results_zero_point();
    const int8_t *output = kit_model_output(&kit_model, arena);
    uint32_t count = kit_model_output_bytes(&kit_model);
    uint32_t i;
    kit_out_str("m-results-[");
    for (i = 0; i < count; i++) {
        float value = (float)((int32_t)output[i] - zero_point) * scale;
        if (i > 0) {
            kit_hal_putc(',');
        }
        kit_out_fixed3(value);
    }
    kit_out_str("]");
    kit_out_end();
}

/* Refuses inference (printing why) unless the model fits and a whole input is loaded. */
static int ready_to_infer(void)
{
    uint32_t needed = kit_model_input_bytes(&kit_model);
    if (model_problem != 0) {
        kit_out_str("e-[model not runnable: ");
        kit_out_str(model_problem);
        kit_out_str("]");
        kit_out_end();
        reply_ready();
        return 0;
    }
    if (input_expected != needed || input_filled != needed) {
        kit_out_str("e-[input not loaded: have ");
        kit_out_u64(input_filled);
        kit_out_str(" of ");
        kit_out_u64(needed);
        kit_out_str(" bytes]");
        kit_out_end();
        reply_ready();
        return 0;
    }
    return 1;
}

/* ------------------------------------------------------------------ MLPerf commands */

static void command_name(void)
{
    kit_out_str("m-name-dut-[kit-");
    kit_out_str(KIT_BOARD_NAME);
    kit_out_str("]");
    kit_out_end();
    reply_ready();
}

static void command_profile(void)
{
    kit_out_line("m-profile-[kit-" KIT_FIRMWARE_VERSION "]");
    kit_out_str("m-model-[");
    kit_out_sanitized(kit_model_id(&kit_model), 64u);
    kit_out_str("]");
    kit_out_end();
    reply_ready();
}

/* MLPerf Tiny's `timestamp` (internally_implemented.cpp): one timestamp of the framework's
 * kind: in energy mode a pulse on the timestamp pin, in performance mode an m-lap-us line. */
static void command_timestamp(void)
{
#if defined(KIT_ENERGY_MODE) && KIT_ENERGY_MODE
    kit_hal_timestamp();
#else
    print_lap(ticks_to_us(kit_hal_ticks()));
#endif
    reply_ready();
}

static void command_db_load(char **tokens, int count)
{
    uint32_t bytes;
    input_expected = 0;
    input_filled = 0;
    if (count != 3 || kit_parse_u32(tokens[2], &bytes) != 0 || bytes == 0 ||
        bytes > KIT_INPUT_CAPACITY || bytes > kit_model_input_bytes(&kit_model)) {
        uint32_t capacity = kit_model_input_bytes(&kit_model);
        kit_out_str("e-[db load: N must be 1..");
        kit_out_u64(capacity < KIT_INPUT_CAPACITY ? capacity : KIT_INPUT_CAPACITY);
        kit_out_str("]");
        kit_out_end();
        reply_ready();
        return;
    }
    start_input(bytes);
    kit_out_str("m-[Expecting ");
    kit_out_u64(bytes);
    kit_out_str(" bytes]");
    kit_out_end();
    reply_ready();
}

static void command_db_print(void)
{
    uint32_t i;
    for (i = 0; i < input_filled; i++) {
        if (i % 16u == 0u) {
            if (i > 0) {
                kit_out_end();
            }
            kit_out_str("m-buffer-");
        } else {
            kit_hal_putc('-');
        }
        kit_out_hex_byte(input_buffer[i]);
    }
    if (input_filled > 0) {
        kit_out_end();
    }
    reply_ready();
}

static void command_db_data(const char *hex)
{
    uint8_t bytes[KIT_LINE_MAX / 2];
    int32_t count;
    if (input_expected == 0) {
        reply_error("db: no load in progress");
        return;
    }
    count = kit_hex_decode(hex, bytes, sizeof bytes);
    if (count < 0) {
        reply_error("db: bad hex");
        return;
    }
    if ((uint32_t)count > input_expected - input_filled) {
        kit_out_str("e-[db: too many bytes (");
        kit_out_u64((uint32_t)count - (input_expected - input_filled));
        kit_out_str(" more than expected)]");
        kit_out_end();
        reply_ready();
        return;
    }
    if (append_input(bytes, (uint32_t)count)) {
        kit_out_line("m-load-done");
    }
    reply_ready();
}

static void command_db(char **tokens, int count)
{
    if (count >= 2 && strcmp(tokens[1], "load") == 0) {
        command_db_load(tokens, count);
    } else if (count == 2 && strcmp(tokens[1], "print") == 0) {
        command_db_print();
    } else if (count == 2) {
        command_db_data(tokens[1]);
    } else {
        reply_error("db: expected load N, HEX or print");
    }
}

static void command_infer(char **tokens, int count)
{
    uint32_t runs;
    uint32_t warmups;
    uint32_t i;
    uint32_t done = 0;
    uint64_t started;
    uint64_t finished;
    uint64_t last_check;
    uint64_t excluded = 0;
    const uint64_t check_interval = kit_hal_timer_hz() / 10u;
    int status = 0;
    if (runs_argument(tokens, count, 1, 1u, 1u, &runs) != 0 ||
        runs_argument(tokens, count, 2, 0u, 0u, &warmups) != 0) {
        return;
    }
    if (!ready_to_infer()) {
        return;
    }
    kit_out_str("m-warmup-start-");
    kit_out_u64(warmups);
    kit_out_end();
    for (i = 0; i < warmups && status == 0; i++) {
        if (cancel_requested()) {
            reply_cancelled(0, runs);
            return;
        }
        status = run_once(0);
    }
    kit_out_line("m-warmup-done");
    kit_out_str("m-infer-start-");
    kit_out_u64(runs);
    kit_out_end();
    /* Both laps are printed after the runs, so the window holds the runs and nothing else.
     * About ten times a second the console is checked for kit-cancel; that check's own ticks
     * are taken out of the window, so the count does not depend on when a host's next
     * command bytes arrive (each run adds only one timer read). */
    kit_hal_timestamp(); /* energy mode: the meter's window opens (outside the timed ticks) */
    kit_hal_timer_sync();
    started = kit_hal_ticks();
    last_check = started;
    for (i = 0; i < runs && status == 0; i++) {
        status = run_once(0);
        done++;
        if (done < runs) {
            uint64_t now = kit_hal_ticks();
            if (now - last_check >= check_interval) {
                int cancel = cancel_requested();
                last_check = kit_hal_ticks();
                excluded += last_check - now;
                if (cancel) {
                    break;
                }
            }
        }
    }
    finished = kit_hal_ticks() - excluded;
    kit_hal_timestamp(); /* ... and closes */
    if (status == 0 && done < runs) {
        have_result = 1;
        reply_cancelled(done, runs);
        return;
    }
    /* end = start + elapsed: the difference the runner computes does not depend on how the
     * two absolute times round to microseconds. */
    print_lap(ticks_to_us(started));
    print_lap(ticks_to_us(started) + ticks_to_us(finished - started));
    if (status != 0) {
        have_result = 0;
        print_invoke_failure(status);
        return;
    }
    kit_out_line("m-infer-done");
    have_result = 1;
    print_results();
    reply_ready();
}

static void command_results(void)
{
    if (!have_result) {
        reply_error("no inference yet");
        return;
    }
    print_results();
    reply_ready();
}

/* ------------------------------------------------------------------ kit extensions */

static void info_field(const char *name, const char *value)
{
    kit_hal_putc(',');
    kit_out_str(name);
    kit_hal_putc('=');
    kit_out_sanitized(value, 80u);
}

static void info_number(const char *name, uint64_t value)
{
    kit_hal_putc(',');
    kit_out_str(name);
    kit_hal_putc('=');
    kit_out_u64(value);
}

static void info_signed(const char *name, int32_t value)
{
    kit_hal_putc(',');
    kit_out_str(name);
    kit_hal_putc('=');
    kit_out_i32(value);
}

static void info_scale(const char *name, float value)
{
    kit_hal_putc(',');
    kit_out_str(name);
    kit_hal_putc('=');
    kit_out_hexfloat(value);
}

/* Which kernels this firmware runs (recorded with every bench result): kit's Arm DSP
 * (SMLAD) kernels, its portable C kernels, or TFLM's. Read from how it was compiled, so it
 * is what runs, whatever a board file asked for. */
static const char *kernels_name(void)
{
#ifdef KIT_ENGINE
    if (strcmp(KIT_ENGINE, "tflm") == 0) {
        return "tflm";
    }
#endif
#if defined(KIT_HELIUM_KERNELS) && defined(__ARM_FEATURE_MVE) && !defined(KIT_PORTABLE_KERNELS)
    return "helium";
#elif defined(__ARM_FEATURE_DSP) && !defined(KIT_PORTABLE_KERNELS)
    return "arm-dsp";
#else
    return "portable";
#endif
}

static void command_kit_info(void)
{
    kit_out_str("m-kit-info-[proto=");
    kit_out_u64(KIT_PROTOCOL_VERSION);
    info_field("board", KIT_BOARD_NAME);
    info_number("clock_hz", kit_hal_clock_hz());
    info_number("timer_hz", kit_hal_timer_hz());
    info_field("model", kit_model_id(&kit_model));
    info_field("sha256", kit_model_sha256(&kit_model));
    info_number("arena", kit_model_arena_bytes(&kit_model));
    info_number("arena_capacity", KIT_ARENA_CAPACITY);
    info_number("input_bytes", kit_model_input_bytes(&kit_model));
    info_number("output_bytes", kit_model_output_bytes(&kit_model));
    info_scale("in_scale", KIT_INPUT_SCALE);
    info_signed("in_zp", KIT_INPUT_ZERO_POINT);
    info_scale("out_scale", KIT_OUTPUT_SCALE);
    info_signed("out_zp", KIT_OUTPUT_ZERO_POINT);
    info_number("ops", kit_model_op_count(&kit_model));
    info_number("runtime", KIT_RUNTIME_VERSION);
    info_field("build", KIT_BUILD_ID);
    info_number("dropped", reader.dropped);
    info_number("host_files", kit_hal_host_read(0, 0, 0) == 0 ? 1u : 0u);
    info_field("kernels", kernels_name());
    info_field("power", kit_power_sensor_name());
    kit_out_str("]");
    kit_out_end();
    reply_ready();
}

/* The reply to kit-load and kit-load-file: bytes loaded so far, their CRC, done or not. */
static void reply_load_progress(int done)
{
    kit_out_str("m-kit-load-[next=");
    kit_out_u64(input_filled);
    kit_out_str(",crc=");
    kit_out_hex32(input_crc);
    kit_out_str("]");
    kit_out_end();
    if (done) {
        kit_out_line("m-load-done");
    }
    reply_ready();
}

static void command_kit_load(char **tokens, int count)
{
    uint8_t chunk[KIT_LOAD_CHUNK_MAX];
    uint32_t offset;
    int32_t length;
    uint32_t needed = kit_model_input_bytes(&kit_model);
    if (count != 3) {
        reply_error("kit-load: expected OFFSET BASE64");
        return;
    }
    if (number_argument(tokens, count, 1, 0u, &offset) != 0) {
        return;
    }
    if (strlen(tokens[2]) > (KIT_LOAD_CHUNK_MAX / 3u) * 4u) {
        reply_error("kit-load: chunk over 180 bytes");
        return;
    }
    length = kit_base64_decode(tokens[2], chunk, sizeof chunk);
    if (length <= 0) {
        reply_error("kit-load: bad base64");
        return;
    }
    if (offset == 0) {
        start_input(needed <= KIT_INPUT_CAPACITY ? needed : 0u);
    } else if (input_expected == 0 || offset != input_filled) {
        kit_out_str("e-[kit-load offset ");
        kit_out_u64(offset);
        kit_out_str(", expected ");
        kit_out_u64(input_expected == 0 ? 0u : input_filled);
        kit_out_str("]");
        kit_out_end();
        reply_ready();
        return;
    }
    if ((uint32_t)length > input_expected - input_filled) {
        reply_error("kit-load: chunk past input end");
        return;
    }
    reply_load_progress(append_input(chunk, (uint32_t)length));
}

/* kit-load-file PATH: the whole model input from a file on the computer that runs the board
 * (twins and the host build; see kit_hal_host_read). Replies like the last kit-load chunk. */
static void command_kit_load_file(char **tokens, int count)
{
    uint32_t needed = kit_model_input_bytes(&kit_model);
    int32_t got;
    if (count != 2) {
        reply_error("kit-load-file: expected PATH");
        return;
    }
    if (kit_hal_host_read(0, 0, 0) != 0) {
        reply_error("kit-load-file: this board reads no host files (use kit-load)");
        return;
    }
    if (needed > KIT_INPUT_CAPACITY) {
        reply_error("kit-load-file: input larger than the input buffer");
        return;
    }
    start_input(0u);
    got = kit_hal_host_read(tokens[1], input_buffer, needed);
    if (got < 0) {
        reply_error("kit-load-file: cannot read the file");
        return;
    }
    if ((uint32_t)got != needed) {
        kit_out_str("e-[kit-load-file: file has ");
        kit_out_u64((uint32_t)got);
        kit_out_str(" bytes, the model takes ");
        kit_out_u64(needed);
        kit_out_str("]");
        kit_out_end();
        reply_ready();
        return;
    }
    input_expected = needed;
    input_filled = needed;
    input_crc = kit_crc32_update(0u, input_buffer, needed);
    reply_load_progress(1);
}

static void command_kit_infer(char **tokens, int count)
{
    uint32_t runs;
    uint32_t i;
    uint32_t output_bytes = kit_model_output_bytes(&kit_model);
    const int8_t *output;
    if (runs_argument(tokens, count, 1, 1u, 1u, &runs) != 0) {
        return;
    }
    if (!ready_to_infer()) {
        return;
    }
    for (i = 0; i < runs; i++) {
        uint64_t started;
        uint64_t elapsed;
        int status;
        memcpy(kit_model_input(&kit_model, arena), input_buffer, kit_model_input_bytes(&kit_model));
        kit_hal_timestamp(); /* the run's window for a wired meter: outside the ticks */
        kit_hal_timer_sync();
        started = kit_hal_ticks();
        status = kit_model_invoke(&kit_model, arena, record_op, 0);
        elapsed = kit_hal_ticks() - started;
        kit_hal_timestamp();
        if (status != 0) {
            have_result = 0;
            print_invoke_failure(status);
            return;
        }
        kit_out_str("m-kit-run-[");
        kit_out_u64(i);
        kit_hal_putc(',');
        kit_out_u64(elapsed);
        kit_out_str("]");
        kit_out_end();
        if (i + 1 < runs && cancel_requested()) {
            have_result = 1;
            reply_cancelled(i + 1, runs);
            return;
        }
    }
    have_result = 1;
    output = kit_model_output(&kit_model, arena);
    kit_out_str("m-kit-output-[");
    for (i = 0; i < output_bytes; i++) {
        kit_out_hex_byte((uint8_t)output[i]);
    }
    kit_out_str("]");
    kit_out_end();
    print_results();
    reply_ready();
}

static void print_output_and_results(void)
{
    uint32_t i;
    uint32_t output_bytes = kit_model_output_bytes(&kit_model);
    const int8_t *output = kit_model_output(&kit_model, arena);
    kit_out_str("m-kit-output-[");
    for (i = 0; i < output_bytes; i++) {
        kit_out_hex_byte((uint8_t)output[i]);
    }
    kit_out_str("]");
    kit_out_end();
    print_results();
}

/* The idle reading before the runs: the mean of a few samples (board waiting, CPU spinning). */
#define KIT_POWER_IDLE_SAMPLES 8u

static int print_power_idle(void)
{
    int64_t current_sum = 0;
    uint64_t bus_sum = 0;
    uint32_t i;
    for (i = 0; i < KIT_POWER_IDLE_SAMPLES; i++) {
        int32_t current_ua;
        uint32_t bus_mv;
        if (kit_power_read(&current_ua, &bus_mv) != 0) {
            return -1;
        }
        current_sum += current_ua;
        bus_sum += bus_mv;
    }
    kit_out_str("m-kit-power-idle-[");
    kit_out_i32((int32_t)(current_sum / (int64_t)KIT_POWER_IDLE_SAMPLES));
    kit_hal_putc(',');
    kit_out_u64(bus_sum / KIT_POWER_IDLE_SAMPLES);
    kit_out_str("]");
    kit_out_end();
    return 0;
}

static void print_power_run(uint32_t run, uint64_t started, uint64_t elapsed)
{
    uint32_t i;
    for (i = 0; i < power_count; i++) {
        kit_out_str("m-kit-psample-[");
        kit_out_u64(run);
        kit_hal_putc(',');
        kit_out_u64(power_samples[i].dt_ticks);
        kit_hal_putc(',');
        kit_out_i32(power_samples[i].current_ua);
        kit_hal_putc(',');
        kit_out_u64(power_samples[i].bus_mv);
        kit_out_str("]");
        kit_out_end();
    }
    kit_out_str("m-kit-power-[");
    kit_out_u64(run);
    kit_hal_putc(',');
    kit_out_u64(started);
    kit_hal_putc(',');
    kit_out_u64(elapsed);
    kit_hal_putc(',');
    kit_out_u64(kit_power_energy_nj(power_samples, power_count, kit_hal_timer_hz()));
    kit_hal_putc(',');
    kit_out_u64(power_count);
    kit_hal_putc(',');
    kit_out_u64(power_dropped);
    kit_out_str("]");
    kit_out_end();
}

/* kit-power N: N runs like kit-infer, each sampled by the on-board current sensor. */
static void command_kit_power(char **tokens, int count)
{
    uint32_t runs;
    uint32_t i;
    if (runs_argument(tokens, count, 1, 1u, 1u, &runs) != 0) {
        return;
    }
    if (!ready_to_infer()) {
        return;
    }
    if (KIT_POWER_SENSOR == 0) {
        reply_error("kit-power: no power sensor on this board");
        return;
    }
    if (kit_power_init() != 0 || print_power_idle() != 0) {
        kit_out_str("e-[kit-power: the ");
        kit_out_str(kit_power_sensor_name());
        kit_out_str(" does not answer at I2C address ");
        kit_out_u64((uint32_t)KIT_POWER_I2C_ADDR);
        kit_out_str("]");
        kit_out_end();
        reply_ready();
        return;
    }
    for (i = 0; i < runs; i++) {
        uint64_t elapsed;
        int status;
        memcpy(kit_model_input(&kit_model, arena), input_buffer, kit_model_input_bytes(&kit_model));
        power_count = 0u;
        power_dropped = 0u;
        power_failed = 0;
        kit_hal_timestamp();
        kit_hal_timer_sync();
        power_started = kit_hal_ticks();
        power_sample();
        status = kit_model_invoke(&kit_model, arena, record_op_power, 0);
        power_sample();
        elapsed = kit_hal_ticks() - power_started;
        kit_hal_timestamp();
        if (status != 0) {
            have_result = 0;
            print_invoke_failure(status);
            return;
        }
        if (power_failed) {
            have_result = 1;
            reply_error("kit-power: the sensor stopped answering during a run");
            return;
        }
        print_power_run(i, power_started, elapsed);
        if (i + 1 < runs && cancel_requested()) {
            have_result = 1;
            reply_cancelled(i + 1, runs);
            return;
        }
    }
    have_result = 1;
    print_output_and_results();
    reply_ready();
}

static void command_kit_layers(void)
{
    uint32_t ops = kit_model_op_count(&kit_model);
    uint32_t i;
    for (i = 0; i < ops; i++) {
        kit_out_str("m-kit-layer-[");
        kit_out_u64(i);
        kit_hal_putc(',');
        kit_out_sanitized(kit_model_op_name(&kit_model, i), 32u);
        kit_hal_putc(',');
        kit_out_u64(i < KIT_MAX_OPS ? op_ticks[i] : 0u);
        kit_out_str("]");
        kit_out_end();
    }
    kit_out_str("m-kit-layers-done-[");
    kit_out_u64(ops);
    kit_out_str("]");
    kit_out_end();
    reply_ready();
}

static void command_kit_mem(void)
{
    kit_out_str("m-kit-mem-[arena=");
    kit_out_u64(kit_model_arena_bytes(&kit_model));
    info_number("arena_capacity", KIT_ARENA_CAPACITY);
    info_number("stack_used", kit_stack_used());
    info_number("stack_size", kit_stack_size());
    kit_out_str("]");
    kit_out_end();
    reply_ready();
}

static void command_kit_ticks(void)
{
    kit_out_str("m-kit-ticks-[");
    kit_out_u64(kit_hal_ticks());
    kit_hal_putc(',');
    kit_out_u64(kit_hal_timer_hz());
    kit_out_str("]");
    kit_out_end();
    reply_ready();
}

static void command_kit_exit(char **tokens, int count)
{
    uint32_t code;
    if (number_argument(tokens, count, 1, 0u, &code) != 0) {
        return;
    }
    if (code > 255u) {
        reply_error("bad number: exit code must be 0..255");
        return;
    }
    if (!kit_hal_can_exit()) {
        reply_error("exit not supported");
        return;
    }
    kit_out_str("m-kit-exit-[");
    kit_out_u64(code);
    kit_out_str("]");
    kit_out_end();
    kit_hal_exit((int)code);
}

/* ------------------------------------------------------------------ kit-features (kit_lab.h) */
#ifdef KIT_HAVE_LAB
#include "kit_features.h"
#include "kit_lab.h"

#define KIT_FEATURES_HEX_BYTES 64u

static uint8_t feature_raw[KIT_LAB_RAW_BYTES] __attribute__((aligned(4)));
static int8_t feature_out[KIT_LAB_INPUT_VALUES];

/* kit-features PATH [crc]: one raw sensor window (KIT_LAB_RAW_BYTES) from a file on the
 * computer that runs the board -> the lab's int8 model input, computed by kit_features.c.
 * Replies m-kit-features-[values=N,crc=C,ticks=T,timer_hz=H] (ticks: the feature extraction
 * alone; the tables are prepared by an untimed first call), then, without `crc`, the values
 * as hex in m-kit-features-data-[HEX] lines of 64 bytes (docs/PROTOCOL.md, kit-features). */
static void command_kit_features(char **tokens, int count)
{
    uint64_t started;
    uint64_t elapsed;
    int32_t got;
    int32_t values;
    uint32_t i;
    if (count < 2 || count > 3 || (count == 3 && strcmp(tokens[2], "crc") != 0)) {
        reply_error("kit-features: expected PATH [crc]");
        return;
    }
    got = kit_hal_host_read(tokens[1], feature_raw, (uint32_t)sizeof feature_raw);
    if (got < 0) {
        reply_error("kit-features: cannot read the file");
        return;
    }
    if ((uint32_t)got != kit_features_raw_bytes(&kit_lab_features) || (uint32_t)got != (uint32_t)sizeof feature_raw) {
        kit_out_str("e-[kit-features: file has ");
        kit_out_u64((uint32_t)got);
        kit_out_str(" bytes, one window is ");
        kit_out_u64(KIT_LAB_RAW_BYTES);
        kit_out_str("]");
        kit_out_end();
        reply_ready();
        return;
    }
    (void)kit_features_int8(&kit_lab_features, feature_raw, feature_out, KIT_LAB_INPUT_VALUES); /* tables */
    kit_hal_timer_sync();
    started = kit_hal_ticks();
    values = kit_features_int8(&kit_lab_features, feature_raw, feature_out, KIT_LAB_INPUT_VALUES);
    elapsed = kit_hal_ticks() - started;
    if (values != (int32_t)KIT_LAB_INPUT_VALUES) {
        reply_error("kit-features: the lab's feature configuration is invalid");
        return;
    }
    kit_out_str("m-kit-features-[values=");
    kit_out_u64((uint32_t)values);
    kit_out_str(",crc=");
    kit_out_hex32(kit_crc32_update(0u, (const uint8_t *)feature_out, (uint32_t)values));
    kit_out_str(",ticks=");
    kit_out_u64(elapsed);
    kit_out_str(",timer_hz=");
    kit_out_u64(kit_hal_timer_hz());
    kit_out_str("]");
    kit_out_end();
    for (i = 0; count == 2 && i < (uint32_t)values; i++) {
        if (i % KIT_FEATURES_HEX_BYTES == 0u) {
            kit_out_str("m-kit-features-data-[");
        }
        kit_out_hex_byte((uint8_t)feature_out[i]);
        if (i % KIT_FEATURES_HEX_BYTES == KIT_FEATURES_HEX_BYTES - 1u || i + 1u == (uint32_t)values) {
            kit_out_str("]");
            kit_out_end();
        }
    }
    reply_ready();
}

/* The commands only a build with kit_lab.h has: 1 when `word` was one of them. */
static int lab_command(const char *word, char **tokens, int count)
{
    if (strcmp(word, "kit-features") == 0) {
        command_kit_features(tokens, count);
        return 1;
    }
    return 0;
}
#else
static int lab_command(const char *word, char **tokens, int count)
{
    (void)word;
    (void)tokens;
    (void)count;
    return 0;
}
#endif

/* ------------------------------------------------------------------ dispatch */

static void unknown_command(const char *word)
{
    kit_out_str("e-[unknown command: ");
    kit_out_sanitized(word, KIT_UNKNOWN_ECHO_CHARS);
    kit_out_str("]");
    kit_out_end();
    reply_ready();
}

/* kit_sensing.c's commands, with the harness state they borrow. */
static int sensing_command(char **tokens, int count)
{
    kit_sensing_context context;
    context.arena = arena;
    context.arena_capacity = KIT_ARENA_CAPACITY;
    context.model_problem = model_problem;
    context.cancel_requested = cancel_requested;
    return kit_sensing_command(tokens, count, &context);
}

static void run_command(char *line)
{
    char *tokens[KIT_MAX_TOKENS];
    int count = split_tokens(line, tokens);
    const char *word;
    if (count < 0) {
        reply_error("too many arguments");
        return;
    }
    if (count == 0) {
        return;
    }
    word = tokens[0];
    if (strcmp(word, "name") == 0) {
        command_name();
    } else if (strcmp(word, "profile") == 0) {
        command_profile();
    } else if (strcmp(word, "db") == 0) {
        command_db(tokens, count);
    } else if (strcmp(word, "infer") == 0) {
        command_infer(tokens, count);
    } else if (strcmp(word, "results") == 0) {
        command_results();
    } else if (strcmp(word, "timestamp") == 0) {
        command_timestamp();
    } else if (strcmp(word, "kit-info") == 0) {
        command_kit_info();
    } else if (strcmp(word, "kit-load") == 0) {
        command_kit_load(tokens, count);
    } else if (strcmp(word, "kit-load-file") == 0) {
        command_kit_load_file(tokens, count);
    } else if (strcmp(word, "kit-infer") == 0) {
        command_kit_infer(tokens, count);
    } else if (strcmp(word, "kit-power") == 0) {
        command_kit_power(tokens, count);
    } else if (strcmp(word, "kit-layers") == 0) {
        command_kit_layers();
    } else if (strcmp(word, "kit-mem") == 0) {
        command_kit_mem();
    } else if (strcmp(word, "kit-ticks") == 0) {
        command_kit_ticks();
    } else if (strcmp(word, "kit-exit") == 0) {
        command_kit_exit(tokens, count);
    } else if (strcmp(word, "kit-cancel") == 0) {
        reply_ready(); /* nothing is running: nothing to cancel */
    } else if (sensing_command(tokens, count)) {
        /* kit-capture, kit-run: kit_sensing.c */
    } else if (lab_command(word, tokens, count)) {
        /* kit-features: builds with kit_lab.h */
    } else {
        unknown_command(word);
    }
}

static void handle_line(kit_line_status_t status)
{
    switch (status) {
    case KIT_LINE_READY:
        run_command(reader.text);
        break;
    case KIT_LINE_TOO_LONG:
        reply_error("line too long");
        break;
    case KIT_LINE_NONE:
        break;
    }
}

void kit_harness_feed(uint8_t byte)
{
    handle_line(kit_line_feed(&reader, byte));
    while (pending_line != KIT_LINE_NONE) { /* a line that arrived during a run: its turn now */
        kit_line_status_t status = pending_line;
        pending_line = KIT_LINE_NONE;
        handle_line(status);
    }
}

static const char *check_model(void)
{
    if (kit_model_arena_bytes(&kit_model) > KIT_ARENA_CAPACITY) {
        return "arena larger than the firmware buffer";
    }
    if (kit_model_input_bytes(&kit_model) > KIT_INPUT_CAPACITY) {
        return "input larger than the firmware buffer";
    }
    return 0;
}

void kit_harness_init(void)
{
    kit_stack_paint();
    kit_line_init(&reader);
    pending_line = KIT_LINE_NONE;
    console_polls = strcmp(kit_hal_target_name(), "host") != 0;
    model_problem = check_model();
#if defined(KIT_ENERGY_MODE) && KIT_ENERGY_MODE
    /* MLPerf Tiny energy mode: the runner times by the meter's edges (kit_hal_timestamp). */
    kit_out_line("m-timestamp-mode-energy");
#else
    kit_out_line("m-timestamp-mode-performance");
#endif
    kit_out_str("m-kit-boot-[proto=");
    kit_out_u64(KIT_PROTOCOL_VERSION);
    kit_out_str(",board=");
    kit_out_str(KIT_BOARD_NAME);
    kit_out_str("]");
    kit_out_end();
    if (model_problem != 0) {
        kit_out_str("e-[model not runnable: ");
        kit_out_str(model_problem);
        kit_out_str("]");
        kit_out_end();
    }
    kit_out_line("m-init-done");
    reply_ready();
}

void kit_harness_run(void)
{
    for (;;) {
        int byte = kit_hal_getc();
        if (byte >= 0) {
            kit_harness_feed((uint8_t)byte);
        }
    }
}
