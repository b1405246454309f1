"""A Link over any pair of binary streams: a subprocess's pipes, an SSH channel, a socket file.

Blocking streams have no read timeout, so a daemon thread reads chunks into a queue and the
Link waits on the queue with its deadline. End of stream becomes LinkClosed.
"""

from __future__ import annotations

import os
import queue
import subprocess
import threading
from typing import IO, Any, Callable, Sequence

from kit.link.base import Link, LinkClosed

_EOF = b""


def _chunk_reader(stream: Any) -> Callable[[], bytes]:
    """The best 'give me whatever is there' call this stream offers."""
    if hasattr(stream, "read1"):
        return lambda: stream.read1(4096)
    if hasattr(stream, "recv"):
        return lambda: stream.recv(4096)
    try:
        fd = stream.fileno()
        return lambda: os.read(fd, 4096)
    except (AttributeError, OSError, ValueError):
        return lambda: stream.read(1)


class StreamLink(Link):
    """Lines from `reader`, bytes to `writer`; `on_close` releases whatever owns them."""

    def __init__(
        self,
        reader: IO[bytes] | Any,
        writer: IO[bytes] | Any,
        description: str,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(description=description)
        self._writer = writer
        self._on_close = on_close
        self._chunks: queue.Queue[bytes] = queue.Queue()
        self._eof = False
        read = _chunk_reader(reader)
        self._thread = threading.Thread(target=self._pump, args=(read,), daemon=True)
        self._thread.start()

    def _pump(self, read: Callable[[], bytes]) -> None:
        try:
            while True:
                chunk = read()
                if not chunk:
                    break
                self._chunks.put(bytes(chunk))
        except (OSError, ValueError):
            pass
        self._chunks.put(_EOF)

    def _read_some(self, timeout: float) -> bytes:
        if self._eof:
            raise self._closed_error()
        try:
            chunk = self._chunks.get(timeout=timeout)
        except queue.Empty:
            return b""
        if chunk == _EOF:
            self._eof = True
            raise self._closed_error()
        return chunk

    def _write_all(self, data: bytes) -> None:
        try:
            if hasattr(self._writer, "sendall"):
                self._writer.sendall(data)
                return
            self._writer.write(data)
            self._writer.flush()
        except (OSError, ValueError) as error:
            raise LinkClosed(
                f"cannot write to {self.description}: {error}",
                hint="the remote program exited; look at its output above",
            ) from None

    def _closed_error(self) -> LinkClosed:
        last = "nothing" if self.last_line is None else repr(self.last_line)
        return LinkClosed(
            f"{self.description} closed the connection (last line received: {last})",
            hint="the remote program or board stopped; run it again",
        )

    def _close_transport(self) -> None:
        for stream in (self._writer,):
            try:
                stream.close()
            except (OSError, ValueError):
                pass
        if self._on_close is not None:
            self._on_close()


def spawn(argv: Sequence[str], description: str | None = None) -> StreamLink:
    """Run a program and talk to it over its stdin/stdout (stderr passes through)."""
    process = subprocess.Popen(list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def stop() -> None:
        try:
            process.wait(timeout=0.5)  # stdin is closed: a program that ends on EOF or exit does so
        except subprocess.TimeoutExpired:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()

    assert process.stdout is not None and process.stdin is not None
    return StreamLink(process.stdout, process.stdin, description or argv[0], on_close=stop)
