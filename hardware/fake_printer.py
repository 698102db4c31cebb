"""A stand-in for a network label printer: listens on loopback and keeps every job it receives.

Used by the tests (over real sockets) and handy for trying printing without a printer:

    python -m hardware.fake_printer 9100      # prints each job it receives to stdout
"""

from __future__ import annotations

import socket
import sys
import threading
from types import TracebackType


class FakePrinter:
    """A raw-TCP (port 9100 style) printer on 127.0.0.1. Each connection is one job: the bytes read
    until the client closes its side. ``jobs`` lists them in arrival order."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = socket.create_server((host, port))
        self._server.settimeout(0.2)
        self.host, self.port = self._server.getsockname()[:2]
        self.jobs: list[bytes] = []
        self._received = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="fake-printer", daemon=True)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> "FakePrinter":
        self._thread.start()
        return self

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._server.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with connection:
                connection.settimeout(5.0)
                chunks = []
                try:
                    while chunk := connection.recv(65536):
                        chunks.append(chunk)
                except OSError:
                    pass
            with self._received:
                self.jobs.append(b"".join(chunks))
                self._received.notify_all()

    def wait_for_jobs(self, count: int, timeout: float = 5.0) -> list[bytes]:
        """The jobs once at least ``count`` have arrived (or whatever came within ``timeout``)."""
        with self._received:
            self._received.wait_for(lambda: len(self.jobs) >= count, timeout=timeout)
            return list(self.jobs)

    def close(self) -> None:
        self._stop.set()
        self._server.close()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def __enter__(self) -> "FakePrinter":
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()


def main(argv: list[str]) -> int:
    port = int(argv[1]) if len(argv) > 1 else 9100
    with FakePrinter(port=port) as printer:
        print(f"fake label printer listening on {printer.address}; Ctrl-C stops it", flush=True)
        seen = 0
        try:
            while True:
                jobs = printer.wait_for_jobs(seen + 1, timeout=1.0)
                for job in jobs[seen:]:
                    print(f"--- job {seen + 1} ({len(job)} bytes)\n{job.decode('utf-8', 'replace')}", flush=True)
                    seen += 1
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
