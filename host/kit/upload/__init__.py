"""Getting firmware onto boards: QEMU for the emulated boards (`kit.upload.qemu`)."""
