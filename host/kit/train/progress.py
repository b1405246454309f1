"""Training progress on stderr (so `kit train --json` keeps stdout clean for the card)."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


def stage_console(enabled: bool = True) -> Console:
    """Where stage messages go: stderr, or nowhere when progress is off."""
    return Console(stderr=True) if enabled else Console(file=io.StringIO())


@contextlib.contextmanager
def dataset_progress(lab_name: str, enabled: bool = True) -> Iterator[Callable[[int, int], None] | None]:
    """A `progress(step, total)` callback for kit.data that drives a bar on stderr."""
    if not enabled:
        yield None
        return
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(f"{lab_name} dataset", total=None)

        def report(step: int, total: int) -> None:
            bar.update(task, completed=step, total=total)

        yield report


def _metrics_text(logs: dict | None) -> str:
    logs = logs or {}
    parts = []
    for key, label in (("loss", "loss"), ("accuracy", "acc"), ("val_loss", "val_loss"), ("val_accuracy", "val_acc")):
        if key in logs:
            parts.append(f"{label} {float(logs[key]):.4f}")
    return "  ".join(parts)


def keras_progress(lab_name: str, epochs: int, steps_per_epoch: int):
    """A Keras callback (built lazily: importing Keras costs seconds that `kit models` need not pay)."""
    import keras

    class KerasProgress(keras.callbacks.Callback):
        """A rich progress bar per epoch, advanced per batch, with loss and accuracy."""

        def __init__(self, lab_name: str, epochs: int, steps_per_epoch: int) -> None:
            super().__init__()
            self._lab, self._epochs, self._steps = lab_name, epochs, steps_per_epoch
            self._progress = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[metrics]}"), TimeElapsedColumn(), console=Console(stderr=True),
            )
            self._task = None

        def on_train_begin(self, logs=None) -> None:
            self._progress.start()

        def on_epoch_begin(self, epoch: int, logs=None) -> None:
            self._task = self._progress.add_task(
                f"{self._lab} {epoch + 1}/{self._epochs}", total=self._steps, metrics=""
            )

        def on_train_batch_end(self, batch: int, logs=None) -> None:
            self._progress.update(self._task, completed=batch + 1, metrics=_metrics_text(logs))

        def on_epoch_end(self, epoch: int, logs=None) -> None:
            self._progress.update(self._task, completed=self._steps, metrics=_metrics_text(logs))

        def on_train_end(self, logs=None) -> None:
            self._progress.stop()

    return KerasProgress(lab_name, epochs, steps_per_epoch)
