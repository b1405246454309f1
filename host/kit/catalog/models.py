"""Typed models of the catalog files (boards, labs, kits).

The models are the schema: a typo in a TOML file is an unknown key and fails loudly
(`extra="forbid"`), so a board file cannot silently lose a field. Only the lab sections that
the data and training stages own ([dataset], [features], [model], [training]) accept extra
keys, because those stages grow new knobs without touching this module.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator


class Strict(BaseModel):
    """Base for catalog tables: unknown keys are errors, values are immutable once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Open(BaseModel):
    """Base for lab sections owned by later stages: known keys are typed, new keys are kept."""

    model_config = ConfigDict(extra="allow", frozen=True)


# --------------------------------------------------------------------------- boards

BoardKind = Literal["mcu", "linux", "emulated", "host"]
UploadMethod = Literal["pio", "arduino-cli", "esptool", "dfu", "ssh", "qemu", "xmodem", "sscma", "native", "none"]
SensorKind = Literal["camera", "microphone", "imu", "tof", "environment"]
KernelsChoice = Literal["arm-dsp", "helium", "portable"]

# A PlatformIO lib_deps entry: `owner/Name@version` from PlatformIO's registry, or
# `Name=https://...git#commit` fetched from a repository. Pinned either way (a build must not
# change under a workshop because a library released a new version).
_REGISTRY_LIB = re.compile(r"^[\w.-]+/[\w.-]+@[\w.+-]+$")
_URL_LIB = re.compile(r"^[\w.-]+=https://\S+#\S+$")
# An Arduino pin expression the HAL may pass to digitalWrite: a name (LED_BUILTIN, LEDG) or a number.
_ARDUINO_PIN = re.compile(r"^(?:[A-Za-z_]\w*|\d+)$")


def _check_lib_deps(specs: list[str]) -> list[str]:
    for spec in specs:
        if not (_REGISTRY_LIB.match(spec) or _URL_LIB.match(spec)):
            raise ValueError(f"{spec!r} is not a pinned PlatformIO lib_deps entry "
                             "(owner/Name@version, or Name=https://...git#commit)")
    return specs


class UsbId(Strict):
    """One USB identity a board shows on the bus. `mode` tells whether the board is running
    its application (serial port usable) or sits in its bootloader (re-enumerated for
    flashing). `shared` marks generic ids that other products use too (e.g. Espressif's
    native USB 303a:1001), so a match is a guess rather than proof."""

    vid: int = Field(ge=0, le=0xFFFF)
    pid: int = Field(ge=0, le=0xFFFF)
    mode: Literal["app", "bootloader"]
    shared: bool = False
    note: str = ""

    @property
    def label(self) -> str:
        return f"{self.vid:04x}:{self.pid:04x}"


class Sensor(Strict):
    """An on-board (or kit-supplied) sensor with its part number and the Arduino libraries
    that drive it: `drivers` are pinned PlatformIO lib_deps entries, `core_libraries` the
    libraries the board's Arduino core ships itself (PDM, Camera: nothing to install).
    `hal_part` names the driver kit's Arduino HAL compiles for it (kit.build passes
    -DKIT_HAVE_<KIND> -DKIT_<KIND>_<hal_part>; none: the HAL does not read this sensor);
    `i2c_address` and `pins` (GPIO numbers, -1 = not connected) are what that driver is told;
    `revision` limits the sensor to one board revision (the board file's `revisions`)."""

    kind: SensorKind
    part: str
    description: str = ""
    drivers: list[str] = []
    core_libraries: list[str] = []
    hal_part: str | None = Field(default=None, pattern=r"^[A-Z][A-Z0-9_]*$")
    i2c_address: int | None = Field(default=None, ge=0x08, le=0x77)
    pins: dict[str, int] = {}
    revision: str | None = None

    @field_validator("pins")
    @classmethod
    def _pin_names(cls, pins: dict[str, int]) -> dict[str, int]:
        for name, number in pins.items():
            if not re.fullmatch(r"[a-z][a-z0-9_]*", name) or number < -1:
                raise ValueError(f"pin {name}={number}: names are lower_case words, numbers GPIOs (-1 = not connected)")
        return pins

    @field_validator("drivers")
    @classmethod
    def _pinned(cls, drivers: list[str]) -> list[str]:
        return _check_lib_deps(drivers)


class PlatformIO(Strict):
    """The PlatformIO environment a real board builds with (`platformio.ini` values).
    `lib_deps` are libraries every project for the board needs (pinned, written to
    platformio.ini). `framework_defines` are what the Arduino framework itself defines for
    the board under PlatformIO (the board manifest's build.extra_flags and the core's
    ARDUINO_ARCH_*): kit does not write them (PlatformIO does); the native stand-in tests
    compile the projects with them."""

    platform: str
    board: str
    framework: str
    build_flags: list[str] = []
    upload_protocol: str | None = None
    lib_deps: list[str] = []
    framework_defines: list[str] = []
    notes: str = ""

    @field_validator("lib_deps")
    @classmethod
    def _pinned(cls, lib_deps: list[str]) -> list[str]:
        return _check_lib_deps(lib_deps)


class EsptoolSettings(Strict):
    """What `esptool write_flash` needs for a prebuilt ESP32 image: chip, baud, flash
    geometry and the offsets of bootloader, partition table and application."""

    chip: str
    baud: int = Field(gt=0)
    flash_mode: str
    flash_freq: str
    flash_size: str
    bootloader_offset: int = Field(ge=0)
    partitions_offset: int = Field(ge=0)
    app_offset: int = Field(ge=0)


class XmodemBootloader(Strict):
    """A bootloader that burns files sent with XMODEM (the Himax WiseEye2's): the text it
    prints and the key that starts a burn, where the model goes in flash, and the firmware
    (name, version, AT API) kit has checked it talks to after the reboot."""

    baud: int = Field(gt=0)
    protocol: Literal["xmodem", "xmodem1k"]
    enter_prompt: str          # printed after reset; any key within `enter_window_s` opens the menu
    enter_window_s: float = Field(gt=0)
    menu_text: str             # the menu line of the burn entry
    burn_key: str = Field(min_length=1, max_length=1)
    send_prompt: str           # printed when the receiver starts
    end_prompt: str            # printed after each file; `n` takes another file, `y` reboots
    model_address: int = Field(ge=0)
    model_partition_bytes: int = Field(gt=0)
    model_id: int = Field(ge=1, le=15)
    firmware: str              # the application firmware kit supports on the board
    firmware_at_api: str
    sources: list[str] = Field(min_length=1)


class Upload(Strict):
    """How firmware (or, for Linux boards, the model) reaches the board."""

    method: UploadMethod
    esptool: EsptoolSettings | None = None
    xmodem: XmodemBootloader | None = None
    notes: str = ""

    @model_validator(mode="after")
    def _esptool_needs_settings(self) -> "Upload":
        if self.method == "esptool" and self.esptool is None:
            raise ValueError("upload.method = 'esptool' needs an [upload.esptool] table")
        return self


class Toolchain(Strict):
    """Compiler and target flags the firmware builder uses for this board's core, and the
    Debian/Ubuntu packages that install the compiler and its C library (`apt`)."""

    compiler: str
    cflags: list[str] = []
    ldflags: list[str] = []
    apt: list[str] = []

    @property
    def prefix(self) -> str:
        """`arm-none-eabi-` for `arm-none-eabi-gcc` (empty for a plain `gcc`)."""
        return self.compiler[: -len("gcc")] if self.compiler.endswith("gcc") else ""


class Led(Strict):
    """The status LED kit's Arduino HAL lights while the board works: the Arduino pin name
    (or number) and whether it lights when the pin is LOW (common-anode RGB LEDs)."""

    pin: str = "LED_BUILTIN"
    active_low: bool
    note: str = ""

    @field_validator("pin")
    @classmethod
    def _arduino_pin(cls, pin: str) -> str:
        if not _ARDUINO_PIN.match(pin):
            raise ValueError(f"{pin!r} is not an Arduino pin name or number (e.g. LED_BUILTIN, LEDG, 13)")
        return pin


class Firmware(Strict):
    """kit's firmware on this board: the HAL folder in firmware/hal that drives it, which of
    the runtime's int8 kernels it runs (`arm-dsp`: the SMLAD/SXTB16 inner loops of
    firmware/runtime/kernels/kit_dot.h, on cores with the Arm DSP extension; `helium`: its MVE
    loops (conv and fully connected) on a Cortex-M55, -DKIT_HELIUM_KERNELS; `portable`: the
    plain C loops, forced with -DKIT_PORTABLE_KERNELS), and its status LED (real boards)."""

    hal: str
    kernels: KernelsChoice
    led: Led | None = None


PowerSensorPart = Literal["ina219", "ina226"]


class PowerWiring(Strict):
    """How power is measured on this board (the `[power]` table): the supply voltage the
    meter feeds, an on-board current-sense breakout on the board's I2C bus (`sensor`, its
    7-bit `i2c_address`, the shunt in ohms, the bus pins), and the GPIO the firmware pulses
    low (>= 1 us) at each inference's start and end, wired to an external meter's trigger
    input (the MLPerf Tiny energy-mode timestamp). Absent pins mean "not wired": kit then
    synchronises the meter by serial timestamps and states the error bound."""

    supply_v: float = Field(default=3.3, gt=0, le=12)
    sensor: PowerSensorPart | None = None
    i2c_address: int = Field(default=0x40, ge=0x08, le=0x77)
    shunt_ohms: float = Field(default=0.1, gt=0, le=10)
    i2c_sda: str | None = None
    i2c_scl: str | None = None
    timestamp_pin: str | None = None
    timestamp_us: int = Field(default=2, ge=1, le=1000)  # the low pulse; >= 10 for a PPK2's 100 kHz logic port
    # MLPerf Tiny energy mode: boot as `m-timestamp-mode-energy`, console at `energy_baud` (the
    # runner's interface board), for the unmodified runner with an LPM01A or JS220.
    energy_mode: bool = False
    energy_baud: int = Field(default=9600, gt=0)
    notes: str = ""

    @field_validator("i2c_sda", "i2c_scl", "timestamp_pin")
    @classmethod
    def _pin(cls, pin: str | None) -> str | None:
        if pin is not None and not _ARDUINO_PIN.match(pin):
            raise ValueError(f"{pin!r} is not an Arduino pin name or number (e.g. D7, SDA, 2)")
        return pin


class Emulator(Strict):
    """How to boot an emulated board: QEMU binary, machine, extra arguments and the memory
    map the linker script must follow (origins and sizes of code and data memory).
    `cpu` names the core the machine models (informational: the mps2 machines fix it).
    Machines of one HAL family that differ in a few facts name them here and the build
    passes them to the HAL as defines (unset: the HAL's defaults, QEMU's mps2 map):
    `vector_origin`, where the core reads its reset vector when code lives elsewhere
    (mps3-an547 boots from ITCM at 0x0 while code runs from DDR); `uart_base`, the console
    UART's address (-DKIT_HAL_UART_BASE); `systick_hz`, the SysTick clock
    (-DKIT_HAL_SYSTICK_HZ); `wake_timer_base`, the timer a virtual sensor's wait sleeps on
    (-DKIT_HAL_WAKE_TIMER_BASE, a CMSDK APB timer; 0 = none, the wait polls the tick counter),
    its interrupt line `wake_timer_irq` and clock `wake_timer_hz`."""

    qemu: str
    apt: list[str] = []              # the Debian/Ubuntu package(s) that install `qemu`
    machine: str
    cpu: str | None = None
    args: list[str] = []
    code_origin: int = Field(ge=0)
    code_size: int = Field(gt=0)
    ram_origin: int = Field(ge=0)
    ram_size: int = Field(gt=0)
    vector_origin: int | None = Field(default=None, ge=0)
    uart_base: int | None = Field(default=None, gt=0)
    systick_hz: int | None = Field(default=None, gt=0)
    wake_timer_base: int | None = Field(default=None, ge=0)
    wake_timer_irq: int | None = Field(default=None, ge=0, le=31)
    wake_timer_hz: int | None = Field(default=None, gt=0)
    uart: str
    exit: str
    timer: str
    notes: str = ""


class Npu(Strict):
    """A board's neural accelerator as its model compiler sees it: kit runs `compiler`
    (Arm's Vela for an Ethos-U) with `accelerator_config` and the board's system and memory
    configuration, written into a Vela .ini as `[System_Config.<system_name>]` and
    `[Memory_Mode.<memory_mode_name>]` (the vendor's values, cited in `sources`)."""

    compiler: Literal["vela"]
    accelerator_config: str
    system_name: str
    memory_mode_name: str
    system_config: dict[str, str | int | float]
    memory_mode: dict[str, str | int | float]
    sources: list[str] = Field(min_length=1)


class Support(Strict):
    """What kit can do with the board today, so nobody discovers a gap at a workshop."""

    build: bool
    upload: bool
    bench: bool
    notes: list[str] = []


class MemoryLimits(Strict):
    """Flash and RAM an application may use on a board (what the fit check compares to)."""

    board: str
    flash_bytes: int
    ram_bytes: int


class Board(Strict):
    """A board file `boards/<name>.toml`.

    `clock_hz` is the main core's clock (the host board leaves it and the memory open: 0).
    Memory: `flash_bytes`/`ram_bytes` are the chip's internal memories;
    `app_flash_bytes`/`app_ram_bytes` what an application may use under the board's default
    framework and bootloader (fit checks use these, see `memory_limits`);
    `external_flash_bytes`/`external_ram_bytes` are off-chip (QSPI flash, PSRAM, SDRAM).
    `bootloader_hint` tells a user how to get the board into / out of its bootloader.
    Power: `active_power_mw`/`idle_power_mw` for energy modelling; `power_basis` says
    whether they are from a datasheet, a measurement, or an estimate (then say so when
    reporting energy)."""

    name: str
    title: str
    vendor: str
    kind: BoardKind
    description: str = ""
    mcu: str
    core: str
    cores: int = Field(default=1, ge=1)
    coprocessors: list[str] = []
    arch: str
    clock_hz: int | None = Field(default=None, gt=0)
    flash_bytes: int = Field(ge=0)
    ram_bytes: int = Field(ge=0)
    app_flash_bytes: int | None = Field(default=None, gt=0)
    app_ram_bytes: int | None = Field(default=None, gt=0)
    external_flash_bytes: int = Field(default=0, ge=0)
    external_ram_bytes: int = Field(default=0, ge=0)
    external_ram_kind: str = ""
    fpu: str = ""
    simd: list[str] = []
    accelerator: str = ""
    npu: Npu | None = None
    sensors: list[Sensor] = []
    # Board revisions that differ in parts (Nano 33 BLE Sense Rev1/Rev2); the first is the default build.
    revisions: list[str] = []
    usb: list[UsbId] = []
    baud: int = Field(default=115200, gt=0)
    bootloader_hint: str = ""
    platformio: PlatformIO | None = None
    upload: Upload
    toolchain: Toolchain | None = None
    firmware: Firmware | None = None
    emulated_twin: str | None = None
    emulator: Emulator | None = None
    active_power_mw: float = Field(gt=0)
    idle_power_mw: float = Field(gt=0)
    power_basis: Literal["datasheet", "measured", "estimate"]
    power_notes: str = ""
    power: PowerWiring = PowerWiring()
    support: Support
    sources: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _kind_rules(self) -> "Board":
        if self.kind != "host" and (self.clock_hz is None or self.ram_bytes == 0):
            raise ValueError("clock_hz and ram_bytes are required (only the host board leaves them open)")
        if self.kind == "emulated" and (self.emulator is None or self.firmware is None or self.toolchain is None):
            raise ValueError("an emulated board needs [emulator], [firmware] and [toolchain] tables")
        if self.kind != "emulated" and self.emulator is not None:
            raise ValueError(f"only emulated boards have an [emulator] table (kind is {self.kind!r})")
        if self.emulated_twin is not None and self.kind != "mcu":
            raise ValueError("only mcu boards have an emulated_twin")
        if self.app_flash_bytes is not None and self.flash_bytes and self.app_flash_bytes > self.flash_bytes + self.external_flash_bytes:
            raise ValueError("app_flash_bytes is larger than the board's flash")
        if self.platformio is not None and (self.firmware is None or self.firmware.led is None):
            raise ValueError("a board with a [platformio] table needs [firmware] (hal, kernels) and [firmware.led] "
                             "(pin, active_low): kit's Arduino HAL reads them")
        for sensor in self.sensors:
            if sensor.revision is not None and sensor.revision not in self.revisions:
                raise ValueError(f"the {sensor.kind} {sensor.part} is for revision {sensor.revision!r}, which "
                                 f"`revisions` ({', '.join(self.revisions) or 'none'}) does not list")
        if self.firmware is not None and self.firmware.kernels == "arm-dsp" and "dsp" not in self.simd:
            raise ValueError("firmware.kernels = 'arm-dsp' needs a core with the Arm DSP extension "
                             "(simd lists no 'dsp'); use kernels = 'portable'")
        if self.firmware is not None and self.firmware.kernels == "helium" and "helium" not in self.simd:
            raise ValueError("firmware.kernels = 'helium' needs a core with Helium (MVE: Cortex-M55/M85; simd "
                             "lists no 'helium'); use kernels = 'arm-dsp' or 'portable'")
        return self

    @property
    def sensor_lib_deps(self) -> list[str]:
        """The PlatformIO lib_deps of all the board's sensor drivers, every revision (kit.build.sensors
        picks the ones a build compiles)."""
        return [driver for sensor in self.sensors for driver in sensor.drivers]

    def memory_limits(self) -> MemoryLimits:
        """The flash/RAM an application may use here. An emulated twin of a real board gets
        the REAL board's limits: call this on the real board, not on the twin."""
        if self.emulator is not None:
            return MemoryLimits(board=self.name, flash_bytes=self.emulator.code_size, ram_bytes=self.emulator.ram_size)
        return MemoryLimits(
            board=self.name,
            flash_bytes=self.app_flash_bytes or self.flash_bytes,
            ram_bytes=self.app_ram_bytes or self.ram_bytes,
        )

    def usb_matches(self, vid: int | None, pid: int | None) -> UsbId | None:
        """The board's USB identity with this VID:PID, if any."""
        for usb_id in self.usb:
            if usb_id.vid == vid and usb_id.pid == pid:
                return usb_id
        return None

    @property
    def is_emulated(self) -> bool:
        return self.kind == "emulated"


# --------------------------------------------------------------------------- labs


class LabDataset(Open):
    """Dataset recipe. `generator` names the offline generator in kit.data; the rest are its
    knobs (typed here when shared by several labs, free for new ones)."""

    generator: str
    validation_fraction: float = Field(gt=0, lt=1)
    test_fraction: float | None = Field(default=None, gt=0, lt=1)
    sample_rate_hz: int | None = Field(default=None, gt=0)
    clip_seconds: float | None = Field(default=None, gt=0)
    window_seconds: float | None = Field(default=None, gt=0)
    axes: list[str] | None = None
    image_size: list[int] | None = None


class LabFeatures(Open):
    """Feature pipeline: `type` selects it in kit.data."""

    type: str


class LabModel(Open):
    """Model architecture: `arch` selects the builder in kit.train."""

    arch: str


class LabTraining(Open):
    """Training settings. Progressive resizing (kit.train.progressive): `progressive_epochs[i]`
    epochs on the frames downscaled to `progressive_sizes[i]` px (square, ascending, below the
    lab's input; Lab checks that), then `epochs` at the lab's size; the stages after the first
    fine-tune at `fine_tune_learning_rate`."""

    epochs: int = Field(gt=0)
    batch_size: int = Field(gt=0)
    learning_rate: float = Field(gt=0)
    batchnorm_momentum: float | None = Field(default=None, gt=0, lt=1)
    progressive_sizes: list[int] = []
    progressive_epochs: list[int] = []
    fine_tune_learning_rate: float | None = Field(default=None, gt=0)
    # A classifier's regularisation (kit.train.regularize): SpecAugment-style masks of whole MFCC
    # frames and coefficients per sample and epoch, mixup, label smoothing. All off when absent.
    time_masks: int | None = Field(default=None, ge=1)
    time_mask_frames: int | None = Field(default=None, ge=1)
    coefficient_masks: int | None = Field(default=None, ge=1)
    coefficient_mask_width: int | None = Field(default=None, ge=1)
    mixup_alpha: float | None = Field(default=None, gt=0)
    label_smoothing: float | None = Field(default=None, gt=0, lt=1)
    ema_momentum: float | None = Field(default=None, gt=0, lt=1)  # the weights' moving average

    @model_validator(mode="after")
    def _masks_in_pairs(self) -> "LabTraining":
        for count, width in (("time_masks", "time_mask_frames"), ("coefficient_masks", "coefficient_mask_width")):
            if (getattr(self, count) is None) != (getattr(self, width) is None):
                given, missing = (count, width) if getattr(self, count) is not None else (width, count)
                raise ValueError(f"training.{given} needs training.{missing} beside it "
                                 f"(how many masks a sample gets, and the widest one)")
        return self

    @property
    def masks_features(self) -> bool:
        return self.time_masks is not None or self.coefficient_masks is not None

    @property
    def regularizes(self) -> bool:
        return self.masks_features or any(value is not None for value in (self.mixup_alpha, self.label_smoothing,
                                                                           self.ema_momentum))

    @field_validator("progressive_sizes")
    @classmethod
    def _ascending_sizes(cls, sizes: list[int]) -> list[int]:
        if any(size < 8 for size in sizes) or any(later <= earlier for earlier, later in zip(sizes, sizes[1:])):
            raise ValueError("progressive_sizes must be ascending sizes of at least 8 px")
        return sizes

    @field_validator("progressive_epochs")
    @classmethod
    def _epochs_per_size(cls, epochs: list[int], info: ValidationInfo) -> list[int]:
        sizes = info.data.get("progressive_sizes", [])
        if len(sizes) != len(epochs):
            raise ValueError(f"progressive_sizes has {len(sizes)} entries but progressive_epochs has {len(epochs)}: "
                             "give the epochs at each size")
        if any(count <= 0 for count in epochs):
            raise ValueError("progressive_epochs must all be positive")
        return epochs


class LabIO(Strict):
    """The deployed model's tensors (batch dimension first)."""

    input_shape: list[int] = Field(min_length=2)
    output_shape: list[int] = Field(min_length=2)

    @field_validator("input_shape", "output_shape")
    @classmethod
    def _positive(cls, shape: list[int]) -> list[int]:
        if any(dim <= 0 for dim in shape):
            raise ValueError("every dimension must be a positive integer")
        return shape


class LabTargets(Strict):
    """Accuracy targets the trained int8 model must meet (a detection lab sets its F1 instead)."""

    min_int8_accuracy: float | None = Field(default=None, gt=0, le=1)
    min_int8_f1: float | None = Field(default=None, gt=0, le=1)
    max_float_int8_gap: float = Field(ge=0, le=1)
    # kws: int8 accuracy on the voices of a synthesizer held out of training (card: held_out)
    min_int8_accuracy_held_out_synthesizer: float | None = Field(default=None, gt=0, le=1)

    @model_validator(mode="after")
    def _one_minimum(self) -> "LabTargets":
        if (self.min_int8_accuracy is None) == (self.min_int8_f1 is None):
            raise ValueError("set exactly one of min_int8_accuracy (classification, anomaly) and min_int8_f1 (detection)")
        return self


class LabDetection(Strict):
    """How a detection lab's output grid is decoded and scored (kit.train.detection)."""

    score_threshold: float = Field(default=0.5, gt=0, lt=1)
    match_distance_cells: float = Field(default=1.5, gt=0)


class LabAnomaly(Strict):
    """A classifier lab's anomaly detector beside its model (the book's motion lab: K-means on the
    features, score = distance to the nearest centroid; kit.train.kmeans fits it, kit_lab.h
    carries it to the board). The threshold is this percentile of the scores of the known
    classes' validation windows."""

    method: Literal["kmeans"]
    clusters: int = Field(ge=1, le=64)
    threshold_percentile: float = Field(default=99.0, gt=50, lt=100)
    # targets on windows of motions never seen in training (kit.train.unseen_motion)
    min_balanced_accuracy: float | None = Field(default=None, gt=0, le=1)
    unseen_windows_per_kind: int = Field(default=100, ge=4)


class LabRun(Strict):
    """How a board runs the model on its live sensor (optional; kit.build.lab writes kit_lab.h
    from it). Defaults: audio slides by half a window and averages 3 windows' scores; IMU and
    camera labs take whole windows one at a time; no LED; the camera frame is the model's size."""

    stride_ms: float | None = Field(default=None, gt=0)
    average_windows: int | None = Field(default=None, ge=1)
    led_label: str | None = None
    frame_size: list[int] | None = Field(default=None, min_length=2, max_length=2)  # [width, height]
    frame_channels: Literal[1, 3] | None = None


class Lab(Strict):
    """A lab file `labs/<name>/lab.toml`."""

    name: str
    title: str
    description: str
    # the MLSysBook hardware-lab chapter the lab follows (display only: not part of the training hash)
    chapter: str = Field(min_length=1)
    task: Literal["classification", "anomaly", "detection"]
    mlperf_model_id: str | None = None
    sensors: list[SensorKind] = Field(min_length=1)
    labels: list[str] = Field(min_length=2)
    dataset: LabDataset
    features: LabFeatures
    model: LabModel
    training: LabTraining
    io: LabIO
    targets: LabTargets
    run: LabRun = LabRun()
    detection: LabDetection | None = None
    anomaly: LabAnomaly | None = None

    @model_validator(mode="after")
    def _labels_match_output(self) -> "Lab":
        if self.anomaly is not None and self.task != "classification":
            raise ValueError("[anomaly] (K-means beside the classifier) is for classification labs; "
                             "an anomaly lab scores with its autoencoder")
        if len(set(self.labels)) != len(self.labels):
            raise ValueError("labels must be unique")
        if self.task in ("classification", "detection") and self.io.output_shape[-1] != len(self.labels):
            raise ValueError(
                f"io.output_shape ends in {self.io.output_shape[-1]} but there are {len(self.labels)} labels"
            )
        if self.run.led_label is not None and self.run.led_label not in self.labels:
            raise ValueError(f"run.led_label '{self.run.led_label}' is not one of the labels")
        self._check_progressive()
        self._check_regularization()
        return self

    def _check_regularization(self) -> None:
        """Masks, mixup and label smoothing train a classifier; the masks cover MFCC frames
        (io.input_shape [1, frames, coefficients, ...]) and must leave some of each unmasked."""
        training = self.training
        if training.regularizes and self.task != "classification":
            raise ValueError(f"training masks, mixup_alpha, label_smoothing and ema_momentum are for classification labs; "
                             f"this lab's task is {self.task!r}")
        if not training.masks_features:
            return
        shape = self.io.input_shape
        if self.features.type != "mfcc" or len(shape) < 3:
            raise ValueError(f"training.time_masks / coefficient_masks mask MFCC features (features.type = 'mfcc', "
                             f"io.input_shape [1, frames, coefficients, ...]); this lab has {self.features.type!r} {shape}")
        for width, size, what in ((training.time_mask_frames, shape[1], "frames"),
                                  (training.coefficient_mask_width, shape[2], "coefficients")):
            if width is not None and width >= size:
                key = "time_mask_frames" if what == "frames" else "coefficient_mask_width"
                raise ValueError(f"training.{key} = {width} must be below the input's {size} {what} "
                                 f"(a mask hides part of them)")

    def _check_progressive(self) -> None:
        """Progressive resizing downscales camera frames: square image inputs, sizes below the lab's."""
        sizes = self.training.progressive_sizes
        if not sizes:
            return
        shape = self.io.input_shape
        if self.features.type != "image" or len(shape) != 4 or shape[1] != shape[2]:
            raise ValueError(f"training.progressive_sizes needs a square image input (features.type = 'image', "
                             f"io.input_shape [1, N, N, C]); this lab has {self.features.type!r} {shape}")
        if sizes[-1] >= shape[1]:
            raise ValueError(f"training.progressive_sizes {sizes} must stay below the lab's input size {shape[1]} "
                             "(the last stage trains at the lab's size)")


# --------------------------------------------------------------------------- kits


class KitPart(Strict):
    """Something in the kit box besides the board (expansion board, camera, cable)."""

    name: str
    description: str = ""


class Kit(Strict):
    """A workshop kit `kits/<name>.toml`: one board, the sensors it brings, the labs it runs."""

    name: str
    title: str
    vendor: str
    description: str = ""
    board: str
    sensors: list[Sensor] = []
    parts: list[KitPart] = []
    labs: list[str] = Field(min_length=1)
    sources: list[str] = Field(min_length=1)
