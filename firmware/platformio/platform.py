"""kit's local PlatformIO platform: nothing to install, the toolchains come from Debian."""

from platformio.public import PlatformBase


class KitqemuPlatform(PlatformBase):
    """All the work happens in builder/main.py."""
