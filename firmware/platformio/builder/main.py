"""SCons build script of kit's local PlatformIO platform.

Builds the project's sources with the board's cross compiler from Debian (/usr/bin, no
PlatformIO packages) and, for `pio run -t upload`, boots the ELF in QEMU with
-icount shift=0 (deterministic instruction-count timing) and semihosting for the exit code.
Set `upload_port = tcp:127.0.0.1:PORT` to put the serial console on a TCP server that waits
for its client (`socket://127.0.0.1:PORT`); without it the console is this terminal.
"""

import shutil
import subprocess

from SCons.Script import AlwaysBuild, Default, DefaultEnvironment  # pylint: disable=import-error

env = DefaultEnvironment()
board = env.BoardConfig()

prefix = board.get("build.toolchain_prefix")
optimization = board.get("build.optimization", "-O2")
warnings = ["-Wall", "-Wextra", "-Werror"]
target_flags = list(board.get("build.cflags", []))
link_flags = list(board.get("build.ldflags", []))
# --specs selects the C library; the compiler needs it too (picolibc's include path).
spec_flags = [flag for flag in link_flags if flag.startswith("--specs=")]

env.Replace(
    AR=prefix + "ar",
    AS=prefix + "gcc",
    CC=prefix + "gcc",
    CXX=prefix + "g++",
    GDB=prefix + "gdb",
    OBJCOPY=prefix + "objcopy",
    RANLIB=prefix + "ranlib",
    SIZETOOL=prefix + "size",
    LINK=prefix + "gcc",
    ARFLAGS=["rc"],
    PROGNAME="firmware",
    PROGSUFFIX=".elf",
    SIZEPROGREGEXP=r"^(?:\.text|\.rodata|\.ARM\.exidx|\.data)\s+(\d+).*",
    SIZEDATAREGEXP=r"^(?:\.data|\.bss|\.stack)\s+(\d+).*",
    SIZECHECKCMD="$SIZETOOL -A -d $SOURCES",
)
env.Append(
    ASFLAGS=target_flags + ["-x", "assembler-with-cpp"],
    CCFLAGS=target_flags + spec_flags + [optimization, "-g", "-ffunction-sections", "-fdata-sections"] + warnings,
    CFLAGS=["-std=c99"],
    LINKFLAGS=target_flags
    + link_flags
    + [optimization, "-nostartfiles", "-Wl,--gc-sections", "-Wl,-Map,${BUILD_DIR}/firmware.map"],
)


def qemu_command(elf_path, port):
    """The QEMU command line that boots `elf_path` with the console on `port` (or stdio)."""
    qemu = board.get("upload.qemu")
    if shutil.which(qemu) is None:
        raise SystemExit(
            "error: %s is not installed\nfix: sudo apt-get install -y --no-install-recommends "
            "qemu-system-arm qemu-system-misc" % qemu
        )
    command = [qemu, "-M", board.get("upload.machine")] + list(board.get("upload.args", []))
    command += ["-monitor", "none", "-kernel", elf_path]
    if port:
        address = port.replace("socket://", "").replace("tcp:", "")
        host, _, number = address.rpartition(":")
        command += ["-serial", "tcp:%s:%s,server=on,wait=on,nodelay=on" % (host or "127.0.0.1", number)]
    else:
        command += ["-serial", "stdio"]
    return command


def boot_in_qemu(target, source, env):  # pylint: disable=unused-argument
    """Upload = boot: QEMU runs the firmware and its exit code becomes the upload's."""
    command = qemu_command(str(source[0]), env.subst("$UPLOAD_PORT"))
    print("kit: " + " ".join(command))
    return subprocess.call(command)


program = env.BuildProgram()
upload = env.Alias("upload", program, env.VerboseAction(boot_in_qemu, "Booting $SOURCE in QEMU"))
AlwaysBuild(upload)
Default(program)
