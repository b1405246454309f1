"""Broken catalog files give errors that name the file and the field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kit import paths
from kit.catalog import Catalog
from kit.errors import CatalogError


@pytest.fixture()
def copy(tmp_path: Path) -> Catalog:
    """A private copy of the shipped catalog that a test may break."""
    for folder in ("boards", "labs", "kits"):
        shutil.copytree(paths.REPO_ROOT / folder, tmp_path / folder)
    return Catalog(tmp_path / "boards", tmp_path / "labs", tmp_path / "kits")


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def error_of(call) -> CatalogError:
    with pytest.raises(CatalogError) as caught:
        call()
    return caught.value


def test_toml_syntax_error_names_file_and_line(copy: Catalog) -> None:
    edit(copy.boards_dir / "nano33-ble-sense.toml", 'vendor = "Arduino"', "vendor = Arduino")
    error = error_of(lambda: copy.get_board("nano33-ble-sense"))
    assert "nano33-ble-sense.toml" in error.message and "not valid TOML" in error.message
    assert "line 4" in error.message  # vendor is the 4th line of the file


def test_missing_field(copy: Catalog) -> None:
    edit(copy.boards_dir / "nicla-vision.toml", "clock_hz = 480_000_000\n", "")
    error = error_of(lambda: copy.get_board("nicla-vision"))
    assert "nicla-vision.toml" in error.message
    assert "clock_hz" in error.message


def test_missing_nested_field(copy: Catalog) -> None:
    edit(copy.boards_dir / "emu-cortex-m4.toml", 'machine = "mps2-an386"\n', "")
    error = error_of(lambda: copy.get_board("emu-cortex-m4"))
    assert "field 'emulator.machine': required field is missing" in error.message


def test_missing_firmware_key_of_a_real_board_names_file_and_key(copy: Catalog) -> None:
    """A board file is the only place a real board's HAL, kernels and LED live: leaving one
    out is an error naming the file and the key, not a KeyError in the project writer."""
    edit(copy.boards_dir / "portenta-h7.toml", 'kernels = "arm-dsp"', "")
    error = error_of(lambda: copy.get_board("portenta-h7"))
    assert "boards/portenta-h7.toml" in error.message.replace("\\", "/")
    assert "field 'firmware.kernels': required field is missing" in error.message


def test_misspelled_firmware_key_suggests_the_right_one(copy: Catalog) -> None:
    edit(copy.boards_dir / "nano-esp32.toml", "active_low = false", "activ_low = false")
    error = error_of(lambda: copy.get_board("nano-esp32"))
    assert "nano-esp32.toml" in error.message
    assert "field 'firmware.led.activ_low': unknown key (did you mean 'active_low'?)" in error.message
    assert "field 'firmware.led.active_low': required field is missing" in error.message


def test_platformio_board_without_firmware_table_is_refused(copy: Catalog) -> None:
    text = (copy.boards_dir / "nicla-vision.toml").read_text()
    start = text.index("[firmware]")
    (copy.boards_dir / "nicla-vision.toml").write_text(text[:start] + text[text.index("[toolchain]"):])
    error = error_of(lambda: copy.get_board("nicla-vision"))
    assert "nicla-vision.toml" in error.message and "needs [firmware]" in error.message


def test_unknown_hal_and_impossible_kernels_name_the_key(copy: Catalog) -> None:
    edit(copy.boards_dir / "portenta-h7.toml", 'hal = "arduino-mbed"', 'hal = "arduino-mbedd"')
    error = error_of(lambda: copy.get_board("portenta-h7"))
    assert "portenta-h7.toml" in error.message and "field 'firmware.hal'" in error.message
    assert "arduino-mbed" in error.hint
    edit(copy.boards_dir / "nano-esp32.toml", 'kernels = "portable"', 'kernels = "arm-dsp"')
    error = error_of(lambda: copy.get_board("nano-esp32"))
    assert "nano-esp32.toml" in error.message and "Arm DSP extension" in error.message


def test_twin_that_cannot_run_the_boards_kernels_is_refused(copy: Catalog) -> None:
    edit(copy.boards_dir / "portenta-h7.toml", 'emulated_twin = "emu-cortex-m7"', 'emulated_twin = "emu-rv32"')
    error = error_of(lambda: copy.get_board("portenta-h7"))
    assert "portenta-h7.toml" in error.message and "field 'emulated_twin'" in error.message
    assert "arm-dsp" in error.message and "emu-rv32" in error.message


def test_unpinned_sensor_driver_is_refused(copy: Catalog) -> None:
    edit(copy.boards_dir / "nicla-vision.toml", "Arduino_LSM6DSOX@1.1.0", "Arduino_LSM6DSOX")
    error = error_of(lambda: copy.get_board("nicla-vision"))
    assert "field 'sensors[2].drivers'" in error.message and "pinned" in error.message


def test_wrong_type(copy: Catalog) -> None:
    edit(copy.boards_dir / "nicla-vision.toml", "ram_bytes = 1_048_576", 'ram_bytes = "1 MB"')
    error = error_of(lambda: copy.get_board("nicla-vision"))
    assert "field 'ram_bytes'" in error.message and "'1 MB'" in error.message


def test_wrong_type_inside_a_list(copy: Catalog) -> None:
    edit(copy.boards_dir / "nicla-vision.toml", "pid = 0x035f", 'pid = "035f"')
    error = error_of(lambda: copy.get_board("nicla-vision"))
    assert "field 'usb[1].pid'" in error.message


def test_unknown_key_suggests_the_right_one(copy: Catalog) -> None:
    edit(copy.boards_dir / "nicla-vision.toml", "clock_hz = ", "clock_hzz = ")
    error = error_of(lambda: copy.get_board("nicla-vision"))
    assert "field 'clock_hzz': unknown key (did you mean 'clock_hz'?)" in error.message


def test_unknown_key_in_a_strict_lab_section(copy: Catalog) -> None:
    edit(copy.labs_dir / "kws" / "lab.toml", "min_int8_accuracy", "min_int8_acuracy")
    error = error_of(lambda: copy.get_lab("kws"))
    assert "labs/kws/lab.toml" in error.message.replace("\\", "/")
    assert "targets.min_int8_acuracy" in error.message and "min_int8_accuracy" in error.message


def test_open_lab_sections_keep_new_keys(copy: Catalog) -> None:
    edit(copy.labs_dir / "kws" / "lab.toml", "[features]\n", "[features]\npre_emphasis = 0.97\n")
    lab = copy.get_lab("kws")
    assert lab.features.model_extra == {
        "window_ms": 30, "stride_ms": 20, "mel_bins": 40, "coefficients": 10, "frames": 49, "pre_emphasis": 0.97,
    }


def test_lab_label_count_must_match_output(copy: Catalog) -> None:
    edit(copy.labs_dir / "motion" / "lab.toml", "output_shape = [1, 4]", "output_shape = [1, 5]")
    error = error_of(lambda: copy.get_lab("motion"))
    assert "output_shape ends in 5 but there are 4 labels" in error.message


def test_unknown_twin(copy: Catalog) -> None:
    edit(copy.boards_dir / "nicla-vision.toml", 'emulated_twin = "emu-cortex-m7"', 'emulated_twin = "emu-m7"')
    error = error_of(lambda: copy.get_board("nicla-vision"))
    assert "nicla-vision.toml" in error.message and "field 'emulated_twin'" in error.message
    assert "emu-cortex-m7" in error.hint


def test_twin_must_be_emulated(copy: Catalog) -> None:
    edit(copy.boards_dir / "nicla-vision.toml", 'emulated_twin = "emu-cortex-m7"', 'emulated_twin = "host"')
    error = error_of(lambda: copy.get_board("nicla-vision"))
    assert "is not an emulated board" in error.message


def test_kit_with_unknown_board_and_lab(copy: Catalog) -> None:
    edit(copy.kits_dir / "xiaoml-kit.toml", 'board = "xiao-esp32s3"', 'board = "xiao-esp32"')
    error = error_of(lambda: copy.get_kit("xiaoml-kit"))
    assert "xiaoml-kit.toml" in error.message and "field 'board'" in error.message
    edit(copy.kits_dir / "xiaoml-kit.toml", 'board = "xiao-esp32"', 'board = "xiao-esp32s3"')
    edit(copy.kits_dir / "xiaoml-kit.toml", '"motion"', '"gestures"')
    error = error_of(lambda: copy.get_kit("xiaoml-kit"))
    assert "field 'labs[3]': lab 'gestures' does not exist" in error.message


def test_name_must_match_file(copy: Catalog) -> None:
    edit(copy.boards_dir / "host.toml", 'name = "host"', 'name = "laptop"')
    error = error_of(lambda: copy.get_board("host"))
    assert "field 'name'" in error.message and "laptop" in error.message


def test_esptool_method_needs_settings(copy: Catalog) -> None:
    path = copy.boards_dir / "xiao-esp32s3.toml"
    text = path.read_text()
    start = text.index("[upload.esptool]")
    path.write_text(text[:start] + text[text.index("[toolchain]"):])
    error = error_of(lambda: copy.get_board("xiao-esp32s3"))
    assert "upload" in error.message and "[upload.esptool]" in error.message


def test_edits_are_seen_without_restarting(copy: Catalog) -> None:
    assert copy.get_board("host").title.startswith("This computer")
    edit(copy.boards_dir / "host.toml", 'title = "This computer (native build)"', 'title = "Laptop, native build"')
    assert copy.get_board("host").title == "Laptop, native build"


def test_kit_lab_needs_a_sensor_the_kit_has(copy: Catalog) -> None:
    edit(copy.kits_dir / "grove-vision-ai-v2-kit.toml", 'labs = ["image-classification"', 'labs = ["motion", "image-classification"')
    error = error_of(lambda: copy.get_kit("grove-vision-ai-v2-kit"))
    assert "field 'labs[0]': lab 'motion' needs an imu" in error.message


def test_lab_targets_need_exactly_one_minimum(copy: Catalog) -> None:
    edit(copy.labs_dir / "kws" / "lab.toml", "min_int8_accuracy = 0.85", "min_int8_accuracy = 0.85\nmin_int8_f1 = 0.8")
    error = error_of(lambda: copy.get_lab("kws"))
    assert "exactly one of min_int8_accuracy" in error.message and "min_int8_f1 (detection)" in error.message


def test_progressive_resizing_lists_are_checked(copy: Catalog) -> None:
    lab_file = copy.labs_dir / "image-classification-160" / "lab.toml"
    edit(lab_file, "progressive_epochs = [6, 6]", "progressive_epochs = [6]")
    error = error_of(lambda: copy.get_lab("image-classification-160"))
    assert "progressive_sizes has 2 entries but progressive_epochs has 1" in error.message
    assert "image-classification-160" in error.message and "training.progressive_epochs" in error.message
    assert "(got [6])" in error.message
    edit(lab_file, "progressive_sizes = [64, 96]", "progressive_sizes = [96, 64]")
    assert "must be ascending sizes" in error_of(lambda: copy.get_lab("image-classification-160")).message


def test_progressive_sizes_must_stay_below_the_lab_size_of_an_image_lab(copy: Catalog) -> None:
    edit(copy.labs_dir / "image-classification-160" / "lab.toml", "progressive_sizes = [64, 96]", "progressive_sizes = [64, 160]")
    error = error_of(lambda: copy.get_lab("image-classification-160"))
    assert "progressive_sizes [64, 160] must stay below the lab's input size 160" in error.message
    edit(copy.labs_dir / "kws" / "lab.toml", "[training]\n", "[training]\nprogressive_sizes = [24]\nprogressive_epochs = [2]\n")
    error = error_of(lambda: copy.get_lab("kws"))
    assert "progressive_sizes needs a square image input" in error.message


def test_regularization_keys_are_checked(copy: Catalog) -> None:
    """[training] masks come in pairs (how many, how wide), stay narrower than the MFCC input,
    and, like mixup and label smoothing, are for classifiers only."""
    kws = copy.labs_dir / "kws" / "lab.toml"
    edit(kws, "[training]\n", "[training]\ntime_masks = 2\n")
    error = error_of(lambda: copy.get_lab("kws"))
    assert "training.time_masks needs training.time_mask_frames beside it" in error.message and "kws" in error.message
    edit(kws, "time_masks = 2\n", "time_masks = 2\ntime_mask_frames = 49\n")
    assert "training.time_mask_frames = 49 must be below the input's 49 frames" in error_of(lambda: copy.get_lab("kws")).message
    edit(kws, "time_mask_frames = 49\n", "time_mask_frames = 8\ncoefficient_masks = 1\ncoefficient_mask_width = 10\n")
    assert "coefficient_mask_width = 10 must be below the input's 10 coefficients" in error_of(lambda: copy.get_lab("kws")).message
    edit(kws, "coefficient_mask_width = 10\n", "coefficient_mask_width = 2\nlabel_smoothing = 1.5\n")
    assert "label_smoothing" in error_of(lambda: copy.get_lab("kws")).message
    edit(kws, "label_smoothing = 1.5\n", "label_smoothing = 0.1\n")
    assert copy.get_lab("kws").training.time_mask_frames == 8  # a valid set loads
    edit(copy.labs_dir / "motion" / "lab.toml", "[training]\n", "[training]\ntime_masks = 1\ntime_mask_frames = 2\n")
    assert "mask MFCC features (features.type = 'mfcc'" in error_of(lambda: copy.get_lab("motion")).message
    edit(copy.labs_dir / "anomaly" / "lab.toml", "[training]\n", "[training]\nmixup_alpha = 0.2\n")
    assert "are for classification labs; this lab's task is 'anomaly'" in error_of(lambda: copy.get_lab("anomaly")).message
