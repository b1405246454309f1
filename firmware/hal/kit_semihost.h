/*
 * Semihosting file calls shared by the emulator HALs (QEMU mps2/mps3 and riscv virt): the
 * standard operation numbers and parameter blocks are the same on Arm and RISC-V; only the
 * trap differs, so each HAL defines kit_semihost_call (Arm: bkpt 0xab; RISC-V: the
 * uncompressed slli x0,x0,0x1f / ebreak / srai x0,x0,7 sequence) and includes this header
 * once. Why semihosting: the twin's emulated UART is far slower than reading the recording
 * or the model input straight from the host's file system.
 */
#ifndef KIT_SEMIHOST_H
#define KIT_SEMIHOST_H

#include <stdint.h>
#include <string.h>

/* One semihosting call: operation, pointer to its parameter block; returns the result. */
int32_t kit_semihost_call(uint32_t operation, volatile uint32_t *block);

#define KIT_SEMIHOST_OPEN 0x01u
#define KIT_SEMIHOST_CLOSE 0x02u
#define KIT_SEMIHOST_READ 0x06u
#define KIT_SEMIHOST_SEEK 0x0Au
#define KIT_SEMIHOST_FLEN 0x0Cu
#define KIT_SEMIHOST_MODE_RB 1u

static volatile uint32_t kit_semihost_block[3];

/* Open `path` for binary reading: a handle >= 0, or -1. */
static inline int32_t kit_semihost_open(const char *path)
{
    kit_semihost_block[0] = (uint32_t)(uintptr_t)path;
    kit_semihost_block[1] = KIT_SEMIHOST_MODE_RB;
    kit_semihost_block[2] = (uint32_t)strlen(path);
    return kit_semihost_call(KIT_SEMIHOST_OPEN, kit_semihost_block);
}

static inline void kit_semihost_close(int32_t handle)
{
    kit_semihost_block[0] = (uint32_t)handle;
    (void)kit_semihost_call(KIT_SEMIHOST_CLOSE, kit_semihost_block);
}

/* Read up to `length` bytes: the bytes read (0 at the end of the file), or -1. */
static inline int32_t kit_semihost_read(int32_t handle, uint8_t *buffer, uint32_t length)
{
    int32_t left;
    kit_semihost_block[0] = (uint32_t)handle;
    kit_semihost_block[1] = (uint32_t)(uintptr_t)buffer;
    kit_semihost_block[2] = length;
    left = kit_semihost_call(KIT_SEMIHOST_READ, kit_semihost_block); /* the bytes NOT read */
    if (left < 0 || (uint32_t)left > length) {
        return -1;
    }
    return (int32_t)(length - (uint32_t)left);
}

/* Move to absolute byte `position`: 0, or -1. */
static inline int32_t kit_semihost_seek(int32_t handle, uint32_t position)
{
    kit_semihost_block[0] = (uint32_t)handle;
    kit_semihost_block[1] = position;
    return kit_semihost_call(KIT_SEMIHOST_SEEK, kit_semihost_block) == 0 ? 0 : -1;
}

/* The file's length in bytes, or -1. */
static inline int32_t kit_semihost_flen(int32_t handle)
{
    kit_semihost_block[0] = (uint32_t)handle;
    return kit_semihost_call(KIT_SEMIHOST_FLEN, kit_semihost_block);
}

/* kit_hal_host_read on top of the calls above (see kit_hal.h). */
static inline int32_t kit_semihost_host_read(const char *path, uint8_t *buffer, uint32_t length)
{
    int32_t handle;
    int32_t got;
    if (path == 0) {
        return 0;
    }
    handle = kit_semihost_open(path);
    if (handle < 0) {
        return -1;
    }
    got = kit_semihost_read(handle, buffer, length);
    kit_semihost_close(handle);
    return got;
}

#endif /* KIT_SEMIHOST_H */
