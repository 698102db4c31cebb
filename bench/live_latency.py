"""Benchmark of scan to dashboard: from a confirmed scan's commit to its stock.changed at live clients.

    .venv/bin/python bench/live_latency.py [--clients 50] [--rate 100] [--duration 15]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/NEWDB] [--redis-url redis://127.0.0.1:6379/0]

Starts the service under gunicorn on a fresh database (SQLite in a temporary folder by default, or a
PostgreSQL database this script creates and drops), connects N dashboard clients (python-socketio,
websocket transport, a supervisor's bearer token) to ``/live``, and confirms receipt lines at a fixed
rate on an open-loop schedule. Every confirmation commits one move whose ``stock.changed`` goes to
every dashboard; each (event, client) receipt is timed against the event's ``at``. Before that, the
same clients and the same schedule run against bench/live_reference_app.py, a Flask-SocketIO app that
only emits, under the same gunicorn command: the baseline for the transport alone. See bench/README.md.

Exit status: 0 when every expected delivery arrived and every request succeeded (whether or not the
latency target was met: this reports, it does not assert), 1 when a delivery was missing or a request
failed, 2 when setup failed, 130 when interrupted. The servers, the dashboard processes and a
PostgreSQL database created by the run are removed on the way out, Ctrl+C included.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import multiprocessing
import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
# bench/ is not a package: scan_confirm is imported from the folder this file is in.
import scan_confirm
from scan_confirm import HOST, ROOT, Client, Server, SetupError, fmt

NAMESPACE = "/live"
SUPERVISOR = "bench-supervisor"
TARGET_P99_MS = 50.0
TARGET_CLIENTS, TARGET_RATE = 50, 100.0
MATCHED = "ref@svc"  # the reference again, at the rate the service achieved
MATCHED_BELOW = 0.95  # ... when that was below this share of the schedule


# ------------------------------------------------------------------ dashboards (child processes)

class EventLoopDashboards:
    """``count`` dashboards on bare sockets, read by one thread with a selector, as a browser reads its
    websocket on one event loop: Engine.IO 4 / Socket.IO 5 over websocket, without compression (as the
    python-socketio client), answering pings. It handles exactly what the service and the reference send
    to a dashboard, and fails loudly on anything else.

    The python-socketio client costs 110-220 us of CPU per delivery (pure-Python websocket framing, a
    reading thread per client contending for the GIL); at 5,000-10,000 deliveries a second that is half
    to all of a two-core machine, taken from the servers being measured. This one costs a fraction."""

    def __init__(self, first_index: int, count: int, records: list[Any], others: list[int],
                 disconnects: list[int]) -> None:
        import selectors

        self.first_index, self.count = first_index, count
        self.records, self.others, self.disconnects = records, others, disconnects
        self.selector = selectors.DefaultSelector()
        self.sockets: dict[Any, tuple[int, bytearray]] = {}  # socket -> (dashboard index, unread bytes)
        self.lock = threading.Lock()
        self.closing = False
        threading.Thread(target=self._loop, name="dashboards", daemon=True).start()

    @staticmethod
    def _frame(text: str) -> bytes:
        """A masked client text frame."""
        import struct

        data, mask = text.encode(), os.urandom(4)
        size = len(data)
        header = (struct.pack("!BB", 0x81, 0x80 | size) if size < 126 else
                  struct.pack("!BBH", 0x81, 0x80 | 126, size) if size < 65536 else
                  struct.pack("!BBQ", 0x81, 0x80 | 127, size))
        masked = (int.from_bytes(data, "big") ^ int.from_bytes((mask * (size // 4 + 1))[:size], "big")
                  ).to_bytes(size, "big") if size else b""
        return header + mask + masked

    @staticmethod
    def _messages(buffer: bytearray) -> list[str]:
        """Take the whole frames off ``buffer``; return their texts (control frames as "\x00close")."""
        texts = []
        while len(buffer) >= 2:
            first, second = buffer[0], buffer[1]
            size, at = second & 0x7F, 2
            if size == 126:
                if len(buffer) < 4:
                    break
                size, at = int.from_bytes(buffer[2:4], "big"), 4
            elif size == 127:
                if len(buffer) < 10:
                    break
                size, at = int.from_bytes(buffer[2:10], "big"), 10
            if len(buffer) < at + size:
                break
            payload = bytes(buffer[at:at + size])
            del buffer[:at + size]
            opcode = first & 0x0F
            if second & 0x80 or first & 0x70 or not first & 0x80:
                raise ValueError(f"unexpected frame from the server: {first:#x} {second:#x}")
            if opcode == 0x1:
                texts.append(payload.decode())
            elif opcode == 0x8:
                texts.append("\x00close")
            elif opcode not in (0x9, 0xA):  # websocket ping/pong: the servers send none
                raise ValueError(f"unexpected websocket opcode {opcode}")
        return texts

    def connect(self, url: str, token: str, warehouse: str) -> str | None:
        import base64
        import socket

        host, port = url.removeprefix("http://").split(":")
        for index in range(self.first_index, self.first_index + self.count):
            try:
                sock = socket.create_connection((host, int(port)), timeout=20)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                key = base64.b64encode(os.urandom(16)).decode()
                sock.sendall((f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {host}:{port}\r\n"
                              f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                              "Sec-WebSocket-Version: 13\r\n\r\n").encode())
                buffer = bytearray()
                while b"\r\n\r\n" not in buffer:
                    chunk = sock.recv(4096)
                    if not chunk:
                        return f"dashboard {index}: closed during the websocket handshake"
                    buffer += chunk
                head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
                if not head.startswith(b"HTTP/1.1 101"):
                    return f"dashboard {index}: websocket refused: {head[:100]!r}"
                buffer = bytearray(rest)

                def next_message() -> str:
                    while True:
                        texts = self._messages(buffer)
                        if texts:
                            if len(texts) > 1:
                                raise ValueError(f"unexpected messages during setup: {texts}")
                            return texts[0]
                        chunk = sock.recv(65536)
                        if not chunk:
                            raise ConnectionError("closed during setup")
                        buffer.extend(chunk)

                if not next_message().startswith("0{"):
                    return f"dashboard {index}: no Engine.IO open packet"
                sock.sendall(self._frame(f"40{NAMESPACE},{json.dumps({'token': token})}"))
                answer = next_message()
                if not answer.startswith(f"40{NAMESPACE},"):
                    return f"dashboard {index}: connect refused: {answer[:200]}"
                sock.sendall(self._frame(f"42{NAMESPACE},1{json.dumps(['subscribe', {'warehouses': [warehouse]}])}"))
                answer = next_message()
                prefix = f"43{NAMESPACE},1"
                ack = json.loads(answer[len(prefix):]) if answer.startswith(prefix) else None
                if not ack or ack[0] != {"warehouses": [warehouse]}:
                    return f"dashboard {index}: subscribe answered {answer[:200]!r}"
            except (OSError, ValueError) as exc:
                return f"dashboard {index}: {type(exc).__name__}: {exc}"
            sock.setblocking(False)
            with self.lock:
                self.sockets[sock] = (index, buffer)
                self.selector.register(sock, 1)  # EVENT_READ
        return None

    def _loop(self) -> None:
        event = f"42{NAMESPACE},"
        stock, task = event + '["stock.changed",', event + '["task.updated",'
        while True:
            with self.lock:
                registered = bool(self.sockets)
            if not registered:
                time.sleep(0.05)
                continue
            for key, _ in self.selector.select(0.2):
                sock = key.fileobj
                with self.lock:
                    if sock not in self.sockets:
                        continue
                    index, buffer = self.sockets[sock]
                try:
                    chunk = sock.recv(262144)
                except BlockingIOError:
                    continue
                except OSError:
                    chunk = b""
                received = time.time()  # first, so that our own parsing is not timed
                if not chunk:
                    self._lost(sock)
                    continue
                buffer += chunk
                try:
                    for text in self._messages(buffer):
                        if text.startswith(stock):
                            data = json.loads(text[len(event):])[1]
                            self.records.append((index, data.get("seq"), data.get("at"), received))
                        elif text.startswith(task):
                            self.others[0] += 1
                        elif text == "2":  # Engine.IO ping
                            sock.sendall(self._frame("3"))
                        elif text in ("\x00close", "1") or text.startswith(f"41{NAMESPACE}"):
                            self._lost(sock)
                            break
                except (ValueError, IndexError, AttributeError, OSError) as exc:  # counted as a lost dashboard
                    print(f"dashboard {index}: {type(exc).__name__}: {exc}", file=sys.stderr)
                    self._lost(sock)

    def _lost(self, sock: Any) -> None:
        with self.lock:
            if self.sockets.pop(sock, None) is None:
                return
            self.selector.unregister(sock)
            if not self.closing:
                self.disconnects[0] += 1
        sock.close()

    def disconnect(self) -> None:
        with self.lock:
            self.closing = True
            sockets = list(self.sockets)
        for sock in sockets:
            self._lost(sock)
        with self.lock:
            self.closing = False


def dashboard_worker(conn: Any, first_index: int, count: int, kind: str = "loop") -> None:
    """Hosts ``count`` dashboard clients and answers the parent's commands over ``conn``.

    The clients live in a few processes rather than in the parent, so that the reading threads of 50
    websockets and the senders do not all queue on one GIL and add the harness's own delay to every
    figure."""
    import engineio
    import socketio  # the parent does not need either

    class InlineEngineIO(engineio.Client):
        # engineio's threading client starts a thread for every message it receives. At 50
        # dashboards that is thousands of threads a second, which cost the machine more CPU than
        # both servers together and show up in every latency. A browser dispatches on its one event
        # loop; running the (tiny) handlers on the reading thread is the closer stand-in.
        def _trigger_event(self, event: str, *args: Any, **kwargs: Any) -> Any:
            if event == "message":
                kwargs["run_async"] = False
            return super()._trigger_event(event, *args, **kwargs)

    class Dashboard(socketio.Client):
        def _engineio_client_class(self) -> type:
            return InlineEngineIO

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop, and tells us
    records: list[tuple[int, Any, Any, float]] = []
    others = [0]
    disconnects = [0]
    clients: list[Any] = []
    loop = EventLoopDashboards(first_index, count, records, others, disconnects) if kind == "loop" else None

    def connect(url: str, token: str, warehouse: str) -> str | None:
        for index in range(first_index, first_index + count):
            client = Dashboard(reconnection=False)

            def on_change(data: Any, index: int = index) -> None:
                received = time.time()  # first, so that our own bookkeeping is not timed
                if isinstance(data, dict):
                    records.append((index, data.get("seq"), data.get("at"), received))

            def on_other(*_args: Any) -> None:
                others[0] += 1

            def on_disconnect(*_args: Any) -> None:
                disconnects[0] += 1

            client.on("stock.changed", on_change, namespace=NAMESPACE)
            client.on("task.updated", on_other, namespace=NAMESPACE)
            client.on("disconnect", on_disconnect, namespace=NAMESPACE)
            try:
                client.connect(url, namespaces=[NAMESPACE], transports=["websocket"], auth={"token": token},
                               wait_timeout=20)
                ack = client.call("subscribe", {"warehouses": [warehouse]}, namespace=NAMESPACE, timeout=20)
            except Exception as exc:  # noqa: BLE001 - reported to the parent as a setup failure
                return f"dashboard {index}: {type(exc).__name__}: {exc}"
            clients.append(client)
            if not isinstance(ack, dict) or ack.get("warehouses") != [warehouse]:
                return f"dashboard {index}: subscribe answered {ack!r}"
        return None

    while True:
        command, argument = conn.recv()
        if command == "connect":
            disconnects[0] = 0
            conn.send(loop.connect(*argument) if loop else connect(*argument))
        elif command == "count":
            conn.send(len(records))
        elif command == "take":
            taken = list(records)
            del records[:len(taken)]
            conn.send((taken, others[0], disconnects[0]))
            others[0] = 0
        elif command == "disconnect":
            if loop:
                loop.disconnect()
            for client in clients:
                with contextlib.suppress(Exception):  # it is going away either way
                    client.disconnect()
            clients.clear()
            records.clear()
            conn.send(None)
        else:
            break


class Dashboards:
    """The dashboard clients, spread over a few child processes."""

    def __init__(self, clients: int, processes: int, kind: str = "loop") -> None:
        context = multiprocessing.get_context("spawn")  # no fork of a process that already runs threads
        self.workers: list[tuple[Any, Any]] = []
        per, extra = divmod(clients, processes)
        first = 0
        for number in range(processes):
            count = per + (1 if number < extra else 0)
            if not count:
                continue
            parent_end, child_end = context.Pipe()
            process = context.Process(target=dashboard_worker, args=(child_end, first, count, kind), daemon=True,
                                      name=f"dashboards-{number}")
            process.start()
            self.workers.append((process, parent_end))
            first += count

    def ask(self, command: str, argument: Any = None, timeout: float = 120.0) -> list[Any]:
        for _, conn in self.workers:
            conn.send((command, argument))
        answers = []
        for process, conn in self.workers:
            if not conn.poll(timeout):
                raise SetupError(f"{process.name} did not answer {command!r} within {timeout:.0f} s")
            answers.append(conn.recv())
        return answers

    def connect(self, port: int, token: str, warehouse: str) -> None:
        problems = [p for p in self.ask("connect", (f"http://{HOST}:{port}", token, warehouse)) if p]
        if problems:
            raise SetupError("dashboards could not connect: " + "; ".join(problems[:3]))

    def count(self) -> int:
        return sum(self.ask("count"))

    @property
    def pids(self) -> list[int]:
        return [process.pid for process, _ in self.workers if process.pid is not None]

    def take(self) -> tuple[list[tuple[int, Any, Any, float]], int, int]:
        records: list[tuple[int, Any, Any, float]] = []
        others = disconnects = 0
        for taken, other, lost in self.ask("take"):
            records.extend(taken)
            others += other
            disconnects += lost
        return records, others, disconnects

    def close(self) -> None:
        for process, conn in self.workers:
            try:
                conn.send(("quit", None))
            except OSError:
                pass
        for process, _ in self.workers:
            process.join(5)
            if process.is_alive():
                process.terminate()
                process.join(5)


# ------------------------------------------------------------------ CPU accounting

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_cpu(pid: int) -> tuple[int, float]:
    """(process group, user + system CPU seconds) of ``pid`` from /proc, or (-1, 0.0) when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return -1, 0.0
    fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "; comm may hold spaces
    return int(fields[2]), (int(fields[11]) + int(fields[12])) / _TICK


def group_cpu(pgid: int) -> float:
    """CPU seconds used so far by the live processes of process group ``pgid`` (a server's gunicorn
    master and worker: each runs in a session of its own)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            group, seconds = _proc_cpu(int(entry.name))
            if group == pgid:
                total += seconds
    return total


def cpu_now(server_pgid: int, dashboard_pids: list[int]) -> tuple[float, float, float]:
    """CPU seconds so far of (the server, the dashboard processes, this process: the senders)."""
    if not Path("/proc/self/stat").exists():  # not Linux: not measured
        return math.nan, math.nan, math.nan
    own = os.times()
    return (group_cpu(server_pgid), sum(_proc_cpu(pid)[1] for pid in dashboard_pids),
            own.user + own.system)


# ------------------------------------------------------------------ load

@dataclass
class Load:
    """What the senders did in one timed window."""

    scheduled: int = 0
    sent: int = 0
    errors: int = 0
    seqs: set[int] = field(default_factory=set)  # what the reference answered; the service's come from its ledger
    request_ms: list[float] = field(default_factory=list)
    lag_ms: list[float] = field(default_factory=list)  # how late each request left against the schedule
    samples: list[str] = field(default_factory=list)
    started_wall: float = 0.0
    seconds: float = 0.0


Send = Callable[[Client, int], tuple[str, dict[str, Any]]]  # (sender's client, slot) -> (path, body)
Check = Callable[[int, bytes], str | None]


def drive(port: int, token: str | None, senders: int, rate: float, seconds: float, request: Send,
          check: Check, seq_of: Callable[[bytes], int | None]) -> Load:
    """Send ``rate * seconds`` requests on a fixed schedule (slot i is due at start + i / rate), slot i
    going to sender i mod ``senders``. A sender that is behind sends at once, without waiting for the
    schedule to catch up, and slots still unsent when the window closes are dropped: a slow server
    shows as latency and a lower achieved rate, never as a slower schedule or a longer run."""
    slots = max(1, round(rate * seconds))
    load = Load(scheduled=slots)
    lock = threading.Lock()
    ready = threading.Barrier(senders + 1)
    start = [0.0]
    ends: list[float] = []

    def sender(number: int) -> None:
        client = Client(port, token)
        request_ms: list[float] = []
        lag_ms: list[float] = []
        seqs: list[int] = []
        errors: list[str] = []
        ready.wait()
        client.drop_if_stale()
        for slot in range(number, slots, senders):
            if time.perf_counter() >= start[0] + seconds:
                break
            due = start[0] + slot / rate
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            path, body = request(client, slot)
            began = time.perf_counter()
            lag_ms.append((began - due) * 1000)
            try:
                status, data = client.call("POST", path, body)
            except Exception as exc:  # noqa: BLE001 - a broken connection is a failed request, not a crash
                errors.append(f"{path}: {type(exc).__name__}: {exc}")
                client.close()
                continue
            request_ms.append((time.perf_counter() - began) * 1000)
            try:
                problem = check(status, data)
                seq = None if problem else seq_of(data)
            except Exception as exc:  # noqa: BLE001 - e.g. a 200 that is not JSON
                problem, seq = f"unreadable answer ({type(exc).__name__}): {data[:200]!r}", None
            if problem:
                errors.append(f"{path}: {problem}")
            elif seq is not None:
                seqs.append(seq)
        end = time.perf_counter()
        client.close()
        with lock:
            load.sent += len(lag_ms)
            load.errors += len(errors)
            load.samples.extend(errors[:max(0, 5 - len(load.samples))])
            load.request_ms.extend(request_ms)
            load.lag_ms.extend(lag_ms)
            load.seqs.update(seqs)
            ends.append(end)

    threads = [threading.Thread(target=sender, args=(n,), name=f"sender-{n}", daemon=True) for n in range(senders)]
    for thread in threads:
        thread.start()
    # Everyone starts from one instant, slightly ahead, so that no slot is late before it begins.
    start[0] = time.perf_counter() + 0.05
    load.started_wall = time.time() + (start[0] - time.perf_counter())
    ready.wait()
    for thread in threads:
        thread.join()
    load.seconds = max(ends, default=start[0]) - start[0]
    return load


def settle(dashboards: Dashboards, expected: int, quiet: float = 2.0, limit: float = 20.0) -> None:
    """Wait until the dashboards hold ``expected`` records, or until nothing new arrived for ``quiet``
    seconds (so a lost delivery costs a couple of seconds, not the whole ``limit``)."""
    deadline = time.monotonic() + limit
    last, last_change = -1, time.monotonic()
    while time.monotonic() < deadline:
        count = dashboards.count()
        if count >= expected:
            return
        if count != last:
            last, last_change = count, time.monotonic()
        elif time.monotonic() - last_change >= quiet:
            return
        time.sleep(0.1)


# ------------------------------------------------------------------ results

@dataclass
class Result:
    name: str
    clients: int
    load: Load
    events: int = 0
    expected: int = 0
    received: int = 0
    duplicates: int = 0
    unexpected: int = 0
    others: int = 0
    disconnects: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    last_receipt_wall: float = 0.0
    cpu_s: tuple[float, float, float] = (math.nan, math.nan, math.nan)  # server, dashboards, senders

    @property
    def cpu_window_s(self) -> float:
        return self.last_receipt_wall - self.load.started_wall if self.last_receipt_wall else self.load.seconds

    @property
    def missing(self) -> int:
        return self.expected - self.received

    @property
    def deliveries_per_s(self) -> float:
        span = self.last_receipt_wall - self.load.started_wall
        return self.received / span if span > 0 else math.nan

    @property
    def scans_per_s(self) -> float:
        return self.load.sent / self.load.seconds if self.load.seconds else math.nan


def percentile(values: list[float], p: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]  # nearest rank


def tally(name: str, clients: int, load: Load, events: set[int], records: list[tuple[int, Any, Any, float]],
          others: int, disconnects: int) -> Result:
    result = Result(name, clients, load, events=len(events), expected=len(events) * clients, others=others,
                    disconnects=disconnects)
    seen: set[tuple[int, int]] = set()
    for index, seq, at, received in records:
        if seq not in events:
            result.unexpected += 1
            continue
        if (seq, index) in seen:
            result.duplicates += 1
            continue
        seen.add((seq, index))
        stamp = datetime.fromisoformat(at)
        if stamp.tzinfo is None:  # the service writes UTC; be explicit rather than trust local time
            stamp = stamp.replace(tzinfo=UTC)
        result.latencies_ms.append((received - stamp.timestamp()) * 1000)
        result.last_receipt_wall = max(result.last_receipt_wall, received)
    result.received = len(seen)
    return result


def print_report(results: list[Result], args: argparse.Namespace, backend: str, load_before: tuple[float, ...],
                 load_after: tuple[float, ...], took: float) -> None:
    print()
    print(f"gunicorn -w 1 --threads {args.threads}, {backend}; {args.clients} dashboards (websocket, "
          f"{args.dashboard_client} client) in {args.client_processes} processes; {args.senders} senders on an open-loop schedule of {args.rate:g}/s "
          f"for {args.duration:g} s after {args.warmup:g} s of warm-up")
    print(f"{os.cpu_count()} CPUs shared by the dashboards, the senders and both servers; load average "
          f"{load_before[0]:.2f} before the run (well above 0: other work shares the machine), "
          f"{load_after[0]:.2f} after")
    print()
    header = (f"{'':<11}{'sched':>6}{'sent':>6}{'err':>5}{'sent/s':>8}{'events':>8}{'expected':>10}{'received':>10}"
              f"{'missing':>9}{'deliv/s':>9}{'p50 ms':>8}{'p90 ms':>8}{'p99 ms':>8}{'max ms':>8}")
    print(header)
    print("-" * len(header))
    for r in results:
        print(f"{r.name:<11}{r.load.scheduled:>6}{r.load.sent:>6}{r.load.errors:>5}{fmt(r.scans_per_s, 1):>8}{r.events:>8}"
              f"{r.expected:>10}{r.received:>10}{r.missing:>9}{fmt(r.deliveries_per_s, 0):>9}"
              f"{fmt(percentile(r.latencies_ms, 50), 1):>8}{fmt(percentile(r.latencies_ms, 90), 1):>8}"
              f"{fmt(percentile(r.latencies_ms, 99), 1):>8}{fmt(max(r.latencies_ms, default=math.nan), 1):>8}")
    print()
    print("CPU over the timed window (schedule start to last receipt; /proc, every thread): the share of a core, and")
    print("the CPU per event and per delivery. Less disturbed by other work on the machine than the latencies are.")
    cpu_header = (f"{'':<11}{'window s':>9}{'server %':>10}{'ms/event':>10}{'us/deliv':>10}{'dashboards %':>14}"
                  f"{'us/deliv':>10}{'senders %':>11}")
    print(cpu_header)
    for r in results:
        server, clients, senders = r.cpu_s
        window = r.cpu_window_s
        print(f"{r.name:<11}{fmt(window, 1):>9}{fmt(100 * server / window, 0):>10}"
              f"{fmt(1000 * server / r.events if r.events else math.nan):>10}"
              f"{fmt(1e6 * server / r.received if r.received else math.nan, 0):>10}"
              f"{fmt(100 * clients / window, 0):>14}"
              f"{fmt(1e6 * clients / r.received if r.received else math.nan, 0):>10}"
              f"{fmt(100 * senders / window, 0):>11}")
    print()
    print("latency = receipt time at a dashboard minus the event's `at`, for every (event, dashboard). The service")
    print("stamps `at` when it creates the move inside the transaction, before the commit: the figure is an")
    print("upper bound of commit -> receipt. The reference stamps `at` just before its emit.")
    for r in results:
        print(f"  {r.name:<10} HTTP round trip p50 {fmt(percentile(r.load.request_ms, 50))} ms, "
              f"p99 {fmt(percentile(r.load.request_ms, 99))} ms; sends behind schedule p99 "
              f"{fmt(percentile(r.load.lag_ms, 99))} ms, max {fmt(max(r.load.lag_ms, default=math.nan))} ms"
              + (f"; {r.others} task.updated also received (not timed)" if r.others else ""))
    by = {r.name: r for r in results}
    service = by.get("service")
    if service:
        print()
        for baseline in (by.get("reference"), by.get(MATCHED)):
            if baseline is None:
                continue
            for p in (50, 99):
                mine, theirs = percentile(service.latencies_ms, p), percentile(baseline.latencies_ms, p)
                print(f"service - {baseline.name:<9} p{p}: {fmt(mine - theirs, 1):>7} ms   "
                      f"(service/{baseline.name} {fmt(mine / theirs if theirs else math.nan)}x)")
        if MATCHED in by:
            print(f"  the service fell behind the schedule, so {MATCHED} ran the reference again at the "
                  f"{fmt(service.scans_per_s, 1)}/s it achieved")
        p99 = percentile(service.latencies_ms, 99)
        rate_kept = service.scans_per_s >= MATCHED_BELOW * args.rate
        if args.clients != TARGET_CLIENTS or args.rate != TARGET_RATE:
            verdict = f"not judged: this run used {args.clients} dashboards at {args.rate:g}/s"
        elif p99 <= TARGET_P99_MS and rate_kept:
            verdict = "met"
        else:
            verdict = "MISSED (" + ", ".join(
                ([f"p99 above {TARGET_P99_MS:g} ms"] if not p99 <= TARGET_P99_MS else [])
                + ([f"below {MATCHED_BELOW:.0%} of {TARGET_RATE:g} scans/s"] if not rate_kept else [])) + ")"
        print()
        print(f"target (from the issue): p99 commit -> receipt <= {TARGET_P99_MS:g} ms with {TARGET_CLIENTS} dashboards "
              f"and {TARGET_RATE:g} confirmed scans/s")
        print(f"  service p99 {fmt(p99, 1)} ms at {fmt(service.scans_per_s, 1)} scans/s achieved: {verdict}")
    print()
    for r in results:
        odd = [f"{n} {what}" for n, what in ((r.duplicates, "duplicate deliveries"),
                                             (r.unexpected, "deliveries of events outside the window"),
                                             (r.disconnects, "dashboard disconnects")) if n]
        state = "ok     " if not r.missing and not r.load.errors else "FAILED "
        print(f"{state} {r.name}: {r.received} of {r.expected} deliveries, {r.load.errors} failed requests"
              + (f" ({', '.join(odd)})" if odd else ""))
        for sample in r.load.samples:
            print(f"  error ({r.name}): {sample}", file=sys.stderr)
    print(f"took {took:.0f} s")


# ------------------------------------------------------------------ PostgreSQL

def create_postgres(url: str) -> Callable[[], None]:
    """Create the (new) database named in ``url``; return what drops it again."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    name = target.database
    if not name or not target.drivername.startswith("postgresql"):
        raise SetupError(f"--database-url must name a PostgreSQL database: {url}")
    if not name.replace("_", "").isalnum():
        raise SetupError(f"use a plain database name (letters, digits, _), not {name!r}")
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            if connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}):
                # Dropping it afterwards would destroy someone's data: only ever work on our own.
                raise SetupError(f"database {name!r} already exists; name a new one, this run drops it afterwards")
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except SetupError:
        admin.dispose()
        raise
    except Exception as exc:  # unreachable server, refused login, ...
        admin.dispose()
        raise SetupError(f"could not create PostgreSQL database {name!r}: {exc}") from exc

    def drop() -> None:
        try:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        except Exception as exc:  # noqa: BLE001 - say so, and let the rest of the clean-up run
            print(f"could not drop PostgreSQL database {name!r}: {exc}", file=sys.stderr)
        finally:
            admin.dispose()

    return drop


# ------------------------------------------------------------------ main

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50, help="dashboard clients (default 50)")
    parser.add_argument("--rate", type=float, default=100.0, help="confirmed scans (and reference emits) per second "
                                                                  "(default 100)")
    parser.add_argument("--duration", type=float, default=15.0, metavar="S", help="timed seconds of load per "
                                                                                   "server (default 15)")
    parser.add_argument("--warmup", type=float, default=3.0, metavar="S", help="untimed seconds of load before "
                                                                                "(default 3)")
    parser.add_argument("--senders", type=int, default=8, help="sender threads sharing the schedule (default 8)")
    parser.add_argument("--client-processes", type=int, default=5, metavar="P",
                        help="processes the dashboards are spread over (default 5)")
    parser.add_argument("--dashboard-client", choices=("loop", "socketio"), default="loop",
                        help="loop (default): bare websockets read by one thread per process, as a browser's "
                             "event loop; socketio: a python-socketio Client per dashboard (costs far more CPU)")
    parser.add_argument("--threads", type=int, default=64, help="gunicorn --threads for both servers (default 64); "
                                                                "every websocket holds one")
    parser.add_argument("--lines-per-receipt", type=int, default=50, metavar="L", help="receipt size (default 50)")
    parser.add_argument("--database-url", metavar="URL",
                        help="a PostgreSQL database to create, use and drop, e.g. "
                             "postgresql+psycopg://postgres@127.0.0.1:5432/bench_live (default: SQLite in a "
                             "temporary folder)")
    parser.add_argument("--redis-url", metavar="URL", help="relay emits through Redis (WAREHOUSE_REDIS_URL), for "
                                                           "both servers, e.g. redis://127.0.0.1:6379/0")
    parser.add_argument("--no-matched", action="store_true",
                        help=f"skip the second reference run at the service's achieved rate (run when the service "
                             f"achieved less than {MATCHED_BELOW * 100:.0f}%% of --rate)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (SQLite database, server logs)")
    args = parser.parse_args(argv)
    if args.clients < 1 or args.rate <= 0 or args.duration <= 0 or args.warmup < 0 or args.senders < 1 \
            or args.client_processes < 1 or args.threads < 1 or not 1 <= args.lines_per_receipt <= 1000:
        parser.error("--clients, --senders, --client-processes, --threads must be at least 1, --rate and --duration "
                     "above 0, --warmup at least 0, --lines-per-receipt from 1 to 1000")
    args.client_processes = min(args.client_processes, args.clients)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def on_term(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    folder = Path(tempfile.mkdtemp(prefix="warehouse-live-bench-"))
    cleanup: list[Callable[[], None]] = []  # run last first: dashboards, then servers, then the database
    try:
        return _bench(args, folder, cleanup)
    except SetupError as exc:
        print(f"\nsetup failed: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted; stopping the servers", file=sys.stderr)
        return 130
    finally:
        # A second Ctrl+C must not cut the clean-up short and leave servers or a database behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for step in reversed(cleanup):
            step()
        if args.keep:
            print(f"kept {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)


def _bench(args: argparse.Namespace, folder: Path, cleanup: list[Callable[[], None]]) -> int:
    started = time.monotonic()
    load_before = os.getloadavg()
    env = {key: value for key, value in os.environ.items() if not key.startswith("WAREHOUSE_")}
    if args.database_url:
        cleanup.append(create_postgres(args.database_url))
        url, backend = args.database_url, "PostgreSQL"
    else:
        url, backend = f"sqlite:///{folder / 'warehouse.db'}", "SQLite (WAL)"
    env.update(WAREHOUSE_DATABASE_URL=url, WAREHOUSE_INSTANCE_DIR=str(folder))
    if args.redis_url:
        env["WAREHOUSE_REDIS_URL"] = args.redis_url
        env["WAREHOUSE_REDIS_CHANNEL"] = f"warehouse-bench-{os.getpid()}"  # other runs on this Redis stay out
        backend += ", emits through Redis"
    print(f"scan-to-dashboard benchmark: {os.cpu_count()} CPUs, load average {load_before[0]:.2f} "
          f"{load_before[1]:.2f} {load_before[2]:.2f}; {backend}")
    if args.clients + args.senders > args.threads:
        print(f"warning: {args.clients} websockets + {args.senders} senders exceed --threads {args.threads}: "
              "requests will queue for a gunicorn thread", file=sys.stderr)

    print("setting up: migrations, users and tokens (warehouse command)...", flush=True)
    scan_confirm.run_cli(env, ["db", "upgrade"])
    scan_confirm.run_cli(
        env,
        ["user", "create", scan_confirm.ADMIN, "--role", "admin", "--password", "bench-admin-password"],
        ["user", "create", scan_confirm.OPERATOR, "--role", "operator", "--badge", "BENCH-BADGE-1", "--pin", "4711"],
        ["user", "create", SUPERVISOR, "--role", "supervisor", "--password", "bench-supervisor-password"])
    admin_token, operator_token, supervisor_token = (out.splitlines()[-1] for out in scan_confirm.run_cli(
        env, ["token", "create", "--user", scan_confirm.ADMIN, "--name", "bench setup"],
        ["token", "create", "--user", scan_confirm.OPERATOR, "--name", "bench scans"],
        ["token", "create", "--user", SUPERVISOR, "--name", "bench dashboards"]))

    print(f"starting the service and the reference under gunicorn -w 1 --threads {args.threads}...", flush=True)
    service = scan_confirm.start_gunicorn("service", "wsgi:app", chdir=ROOT, env=env, threads=args.threads,
                                          folder=folder)
    cleanup.append(service.stop)
    reference_token = secrets.token_urlsafe(16)
    reference_env = {**env, "BENCH_LIVE_TOKEN": reference_token, "BENCH_LIVE_REDIS_URL": args.redis_url or ""}
    reference = scan_confirm.start_gunicorn("reference", "live_reference_app:app", chdir=BENCH, env=reference_env,
                                            threads=args.threads, folder=folder)
    cleanup.append(reference.stop)
    dashboards = Dashboards(args.clients, args.client_processes, args.dashboard_client)
    cleanup.append(dashboards.close)
    scan_confirm.wait_ready(service, "/api/v1/health")
    scan_confirm.wait_ready(reference, "/health")

    # Warm-up and timed window are scheduled separately, each rounding up per sender.
    slots_per_sender = sum(math.ceil(max(1, round(args.rate * seconds)) / args.senders)
                           for seconds in (args.warmup, args.duration) if seconds)
    receipts_per_sender = math.ceil(slots_per_sender / args.lines_per_receipt)
    lines_needed = args.senders * receipts_per_sender * args.lines_per_receipt
    print(f"creating {lines_needed} receipt lines ({args.lines_per_receipt} per receipt)...", flush=True)
    admin = Client(service.port, admin_token)
    try:
        receipts = scan_confirm.build_site(admin, lines_needed, args.lines_per_receipt)
    finally:
        admin.close()
    # Each sender works through receipts of its own, as a handheld would.
    lines = [[line for receipt in receipts[n * receipts_per_sender:(n + 1) * receipts_per_sender] for line in receipt]
             for n in range(args.senders)]
    print(f"set up in {time.monotonic() - started:.0f} s", flush=True)

    body = {"quantity": 1, "location": scan_confirm.DOCK, "item": scan_confirm.GTIN}
    cursor = [0] * args.senders  # next line per sender, carried from the warm-up into the timed window

    def confirm(_client: Client, slot: int) -> tuple[str, dict[str, Any]]:
        sender = slot % args.senders
        task, line = lines[sender][cursor[sender]]
        cursor[sender] += 1
        return f"/api/v1/tasks/{task}/lines/{line}/confirm", body

    def emit(_client: Client, _slot: int) -> tuple[str, dict[str, Any]]:
        return "/emit", {}

    def reference_seq(data: bytes) -> int | None:
        return int(json.loads(data)["seq"])

    def run(name: str, server: Server, rate: float) -> Result:
        is_service = server is service
        token, dashboard_token = (operator_token, supervisor_token) if is_service else (None, reference_token)
        send, check, seq_of = ((confirm, scan_confirm.service_check, lambda _data: None) if is_service else
                               (emit, scan_confirm.reference_check, reference_seq))
        print(f"{name}: connecting {args.clients} dashboards...", flush=True)
        dashboards.connect(server.port, dashboard_token, scan_confirm.WAREHOUSE)
        if args.warmup:
            print(f"{name}: {args.warmup:g} s warm-up at {rate:g}/s...", flush=True)
            warm = drive(server.port, token, args.senders, rate, args.warmup, send, check, seq_of)
            settle(dashboards, (warm.sent if is_service else len(warm.seqs)) * args.clients)
            if warm.errors:
                raise SetupError(f"{name} warm-up: {warm.errors} requests failed, e.g. {warm.samples[:2]}")
        dashboards.take()  # what the warm-up delivered is not timed
        before = last_seq(service.port, admin_token) if is_service else 0
        print(f"{name}: {args.duration:g} s at {rate:g}/s...", flush=True)
        cpu_before = cpu_now(server.process.pid, dashboards.pids)
        load = drive(server.port, token, args.senders, rate, args.duration, send, check, seq_of)
        events = load.seqs if not is_service else set()
        settle(dashboards, (load.sent if is_service else len(events)) * args.clients)
        cpu_after = cpu_now(server.process.pid, dashboards.pids)  # before the ledger read below adds its own
        if is_service:
            events = ledger_seqs(service.port, admin_token, before)
            settle(dashboards, len(events) * args.clients)
        records, others, disconnects = dashboards.take()
        dashboards.ask("disconnect")
        if is_service and not load.errors and len(events) != load.sent:
            print(f"note: {load.sent} confirmations but {len(events)} moves in the ledger", file=sys.stderr)
        result = tally(name, args.clients, load, events, records, others, disconnects)
        result.cpu_s = tuple(after - before for before, after in zip(cpu_before, cpu_after))  # type: ignore[assignment]
        return result

    # The reference first, then the service, back to back, so both see about the same machine.
    results = [run("reference", reference, args.rate), run("service", service, args.rate)]
    achieved = results[-1].scans_per_s
    if achieved < MATCHED_BELOW * args.rate and not args.no_matched:
        # A service that fell behind put less traffic on its sockets than the reference did: compare it
        # with the transport carrying the same number of events as well.
        results.append(run(MATCHED, reference, round(achieved, 1)))

    print_report(results, args, backend, load_before, os.getloadavg(), time.monotonic() - started)
    failed = any(r.missing or r.load.errors for r in results)
    return 1 if failed else 0


def last_seq(port: int, token: str) -> int:
    client = Client(port, token)
    try:
        return int(client.ok("GET", "/api/v1/stock/changes?after=0&limit=1")["last_seq"] or 0)
    finally:
        client.close()


def ledger_seqs(port: int, token: str, after: int) -> set[int]:
    """The seqs of the moves into the benchmark's warehouse committed after ``after``: the events that
    every dashboard should have received."""
    client = Client(port, token)
    seqs: set[int] = set()
    try:
        while True:
            page = client.ok("GET", f"/api/v1/stock/changes?after={after}&limit=1000&warehouse={scan_confirm.WAREHOUSE}")
            seqs.update(change["seq"] for change in page["changes"])
            if not page["changes"] or page["next_after"] == after:
                return seqs
            after = page["next_after"]
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main())
