"""`kit run` on a board running Seeed's SSCMA firmware (the Grove Vision AI V2): the board
classifies its own camera's frames and kit records one result per INVOKE event, as it
arrives, until `--seconds` have passed or Ctrl-C.

kit asks for events in batches (AT+INVOKE=BATCH,0,1: results only, no frames) so it can
stop between batches without leaving the firmware streaming; each event's `classes`
([score 0-100, target]) become one score per label (0 for a label the board did not report
above its threshold) and its `perf` the record's pre-process / inference ms.
"""

from __future__ import annotations

import time
from typing import Callable

from kit.bench.results import ResultsFile
from kit.catalog.models import Lab
from kit.device.live import LiveRecord, LiveSummary, running_labels
from kit.device.sscma_validate import board_classes
from kit.protocol.sscma import parse_perf

EVENTS_PER_COMMAND = 10


def run_sscma_live(session, lab: Lab, seconds: float | None, on_record: Callable[[LiveRecord], None] | None,
                   results_dir=None, max_events: int | None = None) -> LiveSummary:
    """Stream the board's results into a results file; `max_events` bounds a run (tests)."""
    labels = running_labels(session, lab)
    client = session.client
    summary = LiveSummary(timer_hz=1000)
    header = {"board": session.board.name if session.board else "", "lab": lab.name, "labels": labels,
              "task": lab.task, "protocol": "sscma", "info": {"device_id": client.identity.device_id,
                                                                "model": client.identity.model} if client.identity else {},
              "time_unit": "ms, measured by the board's SSCMA firmware"}
    deadline = None if seconds is None else time.monotonic() + seconds

    def record(_index: int, data: dict) -> None:
        pairs = board_classes(data, len(summary.records), len(labels))
        perf = parse_perf(data)
        scores = [0.0] * len(labels)
        for score, target in pairs:
            scores[target] = score / 100.0
        top = pairs[0][1] if pairs else max(range(len(labels)), key=lambda i: scores[i])
        live = LiveRecord(index=len(summary.records), label=top, feature_ticks=perf.preprocess_ms,
                          infer_ticks=perf.inference_ms, dropped=0, end_sample=0, output=b"", scores=scores,
                          source="camera")
        summary.records.append(live)
        results.append({"type": "live", "index": live.index, "label": top, "label_name": labels[top],
                        "scores": scores, "board_classes": [list(p) for p in pairs], "reported": bool(pairs),
                        "preprocess_ms": perf.preprocess_ms, "inference_ms": perf.inference_ms,
                        "postprocess_ms": perf.postprocess_ms, "source": "camera"})
        if on_record is not None:
            on_record(live)

    with ResultsFile.create("run", header, directory=results_dir) as results:
        summary.results_path = results.path
        try:
            while deadline is None or time.monotonic() < deadline:
                batch = EVENTS_PER_COMMAND
                if max_events is not None:
                    batch = min(batch, max_events - len(summary.records))
                    if batch <= 0:
                        break
                client.invoke_events(batch, True, record)
            summary.status = "ended"
        except KeyboardInterrupt:
            client.command("BREAK")
            summary.status = "cancelled"
        results.close(summary.status, records=len(summary.records))
    return summary


__all__ = ["EVENTS_PER_COMMAND", "run_sscma_live"]
