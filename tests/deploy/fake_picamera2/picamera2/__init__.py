"""A stand-in for Picamera2 (the Raspberry Pi camera library), for tests only.

It has the surface kit's pi_camera.py uses, with Picamera2's behaviour where it matters:
`create_still_configuration(main={"size": (w, h), "format": "RGB888"})`, `configure`, `start`,
`capture_array("main")` returning (h, w, 3) uint8 in B, G, R order (the byte order of
Picamera2's "RGB888", as its manual says), `stop`, `close`; and IndexError from the constructor
when no camera is connected (KIT_FAKE_CAMERA_NONE=1). Frames come from the .npy file (RGB,
(n, h, w, 3)) named by KIT_FAKE_CAMERA_FRAMES, in turn.
"""

from __future__ import annotations

import os

import numpy as np


class Picamera2:
    def __init__(self, camera_num: int = 0) -> None:
        if os.environ.get("KIT_FAKE_CAMERA_NONE") == "1":
            raise IndexError("list index out of range")  # what Picamera2 raises with no camera attached
        self.frames = np.load(os.environ["KIT_FAKE_CAMERA_FRAMES"])
        self.size: tuple[int, int] | None = None
        self.started = False
        self.index = 0

    def create_still_configuration(self, main: dict | None = None, **_: object) -> dict:
        return {"main": {"size": (640, 480), "format": "BGR888", **(main or {})}}

    def configure(self, config: dict) -> None:
        main = config["main"]
        if main["format"] != "RGB888":
            raise RuntimeError(f"the stand-in only gives RGB888, not {main['format']}")
        self.size = tuple(main["size"])

    def start(self) -> None:
        if self.size is None:
            raise RuntimeError("Camera must be configured before starting")
        self.started = True

    def capture_array(self, name: str = "main") -> np.ndarray:
        if not self.started:
            raise RuntimeError("Camera is not running")
        frame = self.frames[self.index % len(self.frames)]
        self.index += 1
        if (frame.shape[1], frame.shape[0]) != self.size:
            raise RuntimeError(f"frames are {frame.shape[1]}x{frame.shape[0]}, the stream is {self.size[0]}x{self.size[1]}")
        return np.ascontiguousarray(frame[:, :, ::-1])

    def stop(self) -> None:
        self.started = False

    def close(self) -> None:
        self.stop()
