"""Benchmark of the scan-confirm path over real HTTP, against a bare reference endpoint.

    .venv/bin/python bench/scan_confirm.py [--requests N] [--warmup W] [--clients 1,16]

Builds a fresh SQLite database in a temporary folder (``warehouse db upgrade``, users and tokens
with the ``warehouse`` command, then a warehouse, a dock, an item with a GTIN, the receiving policy
set to ``two_scan`` and receipts of quantity-1 lines through the API), starts the service and the
bare reference (bench/reference_app.py) under the same gunicorn command on that same database file,
and drives ``POST /api/v1/tasks/<id>/lines/<n>/confirm`` and the reference route with 1 and with 16
concurrent keep-alive clients. Every client confirms lines nobody else touches; every confirmation
completes its line and posts one supplier -> dock move. See bench/README.md for how to read it.

Exit status: 0 when every request succeeded and the work checks out (whether or not the speed targets
were met: this reports, it does not assert), 1 on any error response or failed check, 2 when setup
failed, 130 when interrupted. Both servers are stopped on the way out, Ctrl+C included.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import select
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
HOST = "127.0.0.1"

WAREHOUSE = "BENCH"
DOCK = "BENCH-DOCK"
SKU = "BENCH-ITEM"
GTIN = "4006381333931"  # a valid GTIN-13; the catalog keeps it as GTIN-14 and the scan resolves it
ADMIN, OPERATOR = "bench-admin", "bench-operator"

TARGETS = "full path >= 1.0x the bare reference at 16 clients, p50 <= 2.6 ms at 1 client, zero errors"
TARGET_RATIO_AT_16 = 1.0
TARGET_P50_AT_1_MS = 2.6


class SetupError(Exception):
    pass


# ------------------------------------------------------------------ servers

@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        # gunicorn runs in a session of its own (so that Ctrl+C reaches us, not it): stop its master
        # and workers by that process group, which only holds what we started.
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=15)
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=5)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _has_control_socket() -> bool:
    from gunicorn.config import KNOWN_SETTINGS

    return any(setting.name == "control_socket" for setting in KNOWN_SETTINGS)


def start_gunicorn(name: str, app: str, *, chdir: Path, env: dict[str, str], threads: int, folder: Path) -> Server:
    port = free_port()
    log_path = folder / f"{name}.log"
    command = [sys.executable, "-m", "gunicorn", "-w", "1", "--threads", str(threads), "-b", f"{HOST}:{port}",
               "--chdir", str(chdir)]
    if _has_control_socket():
        # Newer gunicorns open a control socket, by default ~/.gunicorn/gunicorn.ctl, shared by every
        # gunicorn of the user (our other server included): keep ours in our folder.
        command += ["--control-socket", str(folder / f"{name}.ctl")]
    command.append(app)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=chdir, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    return Server(name, port, process, log_path)


def wait_ready(server: Server, path: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise SetupError(f"{server.name} exited with {server.process.returncode}:\n{server.log_tail()}")
        try:
            connection = http.client.HTTPConnection(HOST, server.port, timeout=2)
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            connection.close()
            if response.status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SetupError(f"{server.name} did not answer {path} within {timeout:.0f} s:\n{server.log_tail()}")


# ------------------------------------------------------------------ setup

def run_cli(env: dict[str, str], *commands: list[str]) -> list[str]:
    """Run ``warehouse`` commands side by side (each is a separate transaction; SQLite's busy timeout
    queues them) and return what each printed."""
    processes = [(command, subprocess.Popen([sys.executable, "-m", "warehouse.cli", *command], cwd=ROOT, env=env,
                                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                            stdin=subprocess.DEVNULL)) for command in commands]
    outputs = []
    for command, process in processes:
        try:
            out, err = process.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
        if process.returncode != 0:
            raise SetupError(f"`warehouse {' '.join(command[:2])}` failed ({process.returncode}):\n{out}{err}")
        outputs.append(out.strip())
    return outputs


class Client:
    """A small JSON client over one keep-alive connection (http.client: little client-side CPU)."""

    def __init__(self, port: int, token: str | None = None, timeout: float = 60.0) -> None:
        self.connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
        self.headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        data = None if body is None else json.dumps(body).encode()
        self.connection.request(method, path, body=data, headers=self.headers)
        response = self.connection.getresponse()
        return response.status, response.read()

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        status, data = self.call(method, path, body)
        if status not in (200, 201):
            raise SetupError(f"{method} {path} answered {status}: {data[:500].decode(errors='replace')}")
        return json.loads(data) if data else None

    def total(self, path: str) -> int:
        """The X-Total-Count of a list endpoint."""
        self.connection.request("GET", path, headers=self.headers)
        response = self.connection.getresponse()
        data = response.read()
        if response.status != 200 or response.getheader("X-Total-Count") is None:
            raise SetupError(f"GET {path} answered {response.status}: {data[:300].decode(errors='replace')}")
        return int(response.getheader("X-Total-Count"))

    def drop_if_stale(self) -> None:
        """Reconnect if the server closed this idle keep-alive connection (gunicorn's keep-alive is
        2 s; a client that finished its warm-up early may have waited longer than that)."""
        sock = self.connection.sock
        if sock is None:
            return
        readable, _, _ = select.select([sock], [], [], 0)
        if readable:  # EOF (or an unexpected byte): either way the connection is not fit for reuse
            self.connection.close()

    def close(self) -> None:
        self.connection.close()


def build_site(admin: Client, lines_needed: int, lines_per_receipt: int) -> list[list[tuple[int, int]]]:
    """The warehouse, dock, item and policy; then receipts holding ``lines_needed`` quantity-1 lines,
    returned receipt by receipt as lists of (task id, line no)."""
    admin.ok("POST", "/api/v1/warehouses", {"code": WAREHOUSE, "name": "Benchmark", "latitude": 52.0,
                                            "longitude": 5.0})
    admin.ok("POST", "/api/v1/locations", {"code": DOCK, "warehouse": WAREHOUSE, "type": "receiving"})
    admin.ok("POST", "/api/v1/items", {"sku": SKU, "name": "Benchmark widget", "gtins": [GTIN]})
    # Two independent scans (the dock and the item) verify a line: one confirmation completes it.
    admin.ok("PUT", "/api/v1/verification-policies/receiving", {"policy": "two_scan"})
    receipts: list[list[tuple[int, int]]] = []
    remaining, number = lines_needed, 0
    while remaining > 0:
        size = min(lines_per_receipt, remaining)
        number += 1
        task = admin.ok("POST", "/api/v1/receipts", {
            "reference": f"BENCH-ASN-{number:05d}", "warehouse": WAREHOUSE, "dock": DOCK,
            "lines": [{"sku": SKU, "quantity": 1} for _ in range(size)]})
        if task["policy"] != "two_scan" or any(line["needs_second_person"] for line in task["lines"]):
            raise SetupError(f"receipt {task['id']} does not complete on one confirmation: {task['policy']}")
        receipts.append([(task["id"], line["line_no"]) for line in task["lines"]])
        remaining -= size
    return receipts


# ------------------------------------------------------------------ load

@dataclass
class PhaseResult:
    target: str
    clients: int
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    samples: list[str] = field(default_factory=list)  # the first few errors, for the report

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return math.nan
        ordered = sorted(self.latencies_ms)
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]  # nearest rank


Request = tuple[str, dict[str, Any]]  # (path, body)
Check = Callable[[int, bytes], str | None]  # None if the answer is right, else what is wrong


def run_phase(target: str, port: int, token: str | None, work: list[list[Request]], warmup: int,
              check: Check) -> PhaseResult:
    """Each client (thread) sends its own list of requests over its own keep-alive connection: the first
    ``warmup`` uncounted, then, once every client is warm, the rest timed."""
    clients = len(work)
    result = PhaseResult(target, clients)
    lock = threading.Lock()
    ready = threading.Barrier(clients + 1)
    finished_at: list[float] = []

    def note_error(what: str) -> None:
        with lock:
            result.errors += 1
            if len(result.samples) < 5:
                result.samples.append(what)

    def checked(status: int, data: bytes) -> str | None:
        try:
            return check(status, data)
        except Exception as exc:  # noqa: BLE001 - e.g. a 200 that is not JSON: wrong, not a crash
            return f"HTTP {status}, unreadable answer ({type(exc).__name__}): {data[:200]!r}"

    def client(requests: list[Request]) -> None:
        http_client = Client(port, token)
        latencies: list[float] = []
        counted = 0
        for path, body in requests[:warmup]:
            try:
                status, data = http_client.call("POST", path, body)
            except Exception as exc:  # noqa: BLE001 - a broken connection is an error to report, not a crash
                note_error(f"warm-up {path}: {type(exc).__name__}: {exc}")
                http_client.close()
                continue
            problem = checked(status, data)
            if problem:
                note_error(f"warm-up {path}: {problem}")
        try:
            ready.wait()
        except threading.BrokenBarrierError:
            return
        http_client.drop_if_stale()
        for path, body in requests[warmup:]:
            started = time.perf_counter()
            try:
                status, data = http_client.call("POST", path, body)
            except Exception as exc:  # noqa: BLE001
                note_error(f"{path}: {type(exc).__name__}: {exc}")
                http_client.close()
                counted += 1
                continue
            latencies.append((time.perf_counter() - started) * 1000)
            counted += 1
            problem = checked(status, data)
            if problem:
                note_error(f"{path}: {problem}")
        end = time.perf_counter()
        http_client.close()
        with lock:
            result.latencies_ms.extend(latencies)
            result.requests += counted
            finished_at.append(end)

    threads = [threading.Thread(target=client, args=(requests,), name=f"{target}-{i}", daemon=True)
               for i, requests in enumerate(work)]
    for thread in threads:
        thread.start()
    ready.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    result.seconds = (max(finished_at) if finished_at else time.perf_counter()) - started
    return result


def service_check(status: int, data: bytes) -> str | None:
    if status != 200:
        return f"HTTP {status} {data[:300].decode(errors='replace')}"
    answer = json.loads(data)
    if answer.get("line", {}).get("status") != "done" or answer.get("waiting_for_second_person"):
        return f"line not completed: {data[:300].decode(errors='replace')}"
    return None


def reference_check(status: int, data: bytes) -> str | None:
    if status != 200:
        return f"HTTP {status} {data[:300].decode(errors='replace')}"
    return None


# ------------------------------------------------------------------ report

def fmt(value: float, digits: int = 2) -> str:
    return "-" if math.isnan(value) else f"{value:.{digits}f}"


def print_table(results: list[PhaseResult]) -> None:
    header = f"{'':<24}{'clients':>8}{'requests':>10}{'errors':>8}{'rps':>10}{'p50 ms':>9}{'p99 ms':>9}"
    print(header)
    print("-" * len(header))
    for r in results:
        print(f"{r.target:<24}{r.clients:>8}{r.requests:>10}{r.errors:>8}{fmt(r.rps, 1):>10}"
              f"{fmt(r.percentile(50)):>9}{fmt(r.percentile(99)):>9}")


def ratio(results: list[PhaseResult], clients: int) -> float:
    by = {(r.target, r.clients): r for r in results}
    service, reference = by.get(("service", clients)), by.get(("reference", clients))
    if service is None or reference is None or not reference.rps:
        return math.nan
    return service.rps / reference.rps


# ------------------------------------------------------------------ main

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=100, metavar="N",
                        help="timed requests per client, for each target and client count (default 100)")
    parser.add_argument("--warmup", type=int, default=10, metavar="W",
                        help="untimed requests per client before the timed ones (default 10)")
    parser.add_argument("--clients", default="1,16", metavar="LIST",
                        help="comma-separated client counts to run (default 1,16)")
    parser.add_argument("--threads", type=int, default=32, help="gunicorn --threads for both servers (default 32)")
    parser.add_argument("--lines-per-receipt", type=int, default=50, metavar="L",
                        help="lines per receipt; each client works through whole receipts of its own (default 50)")
    parser.add_argument("--service-app", default="wsgi:app", metavar="MODULE:APP",
                        help="what gunicorn serves as the service (default wsgi:app); for experiments, e.g. a "
                             "wrapper module found through PYTHONPATH")
    parser.add_argument("--profile", metavar="FILE", type=Path,
                        help="serve the service under cProfile (bench/profiled_wsgi.py) and write the server-side "
                             "profile to FILE (pstats); timings of such a run are not comparable with normal runs")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (database, server logs)")
    args = parser.parse_args(argv)
    try:
        args.clients = [int(part) for part in args.clients.split(",") if part.strip()]
    except ValueError:
        parser.error("--clients takes numbers, e.g. 1,16")
    if args.requests < 1 or args.warmup < 0 or not args.clients or min(args.clients) < 1 \
            or not 1 <= args.lines_per_receipt <= 1000:
        parser.error("--requests and --clients must be at least 1, --warmup at least 0, "
                     "--lines-per-receipt from 1 to 1000")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def on_term(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    folder = Path(tempfile.mkdtemp(prefix="warehouse-bench-"))
    servers: list[Server] = []
    try:
        return _bench(args, folder, servers)
    except SetupError as exc:
        print(f"\nsetup failed: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted; stopping the servers", file=sys.stderr)
        return 130
    finally:
        for server in servers:
            server.stop()
        if args.keep:
            print(f"kept {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)


def _bench(args: argparse.Namespace, folder: Path, servers: list[Server]) -> int:
    sys.path.insert(0, str(BENCH))
    from reference_app import create_tables  # noqa: E402 - bench/ is not a package

    started = time.monotonic()
    load_before = os.getloadavg()
    database = folder / "warehouse.db"
    url = f"sqlite:///{database}"
    env = {key: value for key, value in os.environ.items() if not key.startswith("WAREHOUSE_")}
    env.update(WAREHOUSE_DATABASE_URL=url, WAREHOUSE_INSTANCE_DIR=str(folder))

    print(f"scan-confirm benchmark: {os.cpu_count()} CPUs, load average {load_before[0]:.2f} "
          f"{load_before[1]:.2f} {load_before[2]:.2f}; database {database}")
    print("setting up: migrations, users and tokens (warehouse command)...", flush=True)
    run_cli(env, ["db", "upgrade"])
    run_cli(env, ["user", "create", ADMIN, "--role", "admin", "--password", "bench-admin-password"],
            ["user", "create", OPERATOR, "--role", "operator", "--badge", "BENCH-BADGE-1", "--pin", "4711"])
    admin_token, operator_token = (out.splitlines()[-1] for out in run_cli(
        env, ["token", "create", "--user", ADMIN, "--name", "bench setup"],
        ["token", "create", "--user", OPERATOR, "--name", "bench"]))
    create_tables(url)

    print(f"starting the service and the reference under gunicorn -w 1 --threads {args.threads}...", flush=True)
    service_env, service_app = env, args.service_app
    if args.profile is not None:
        args.profile.unlink(missing_ok=True)  # so that a stale file is not mistaken for this run's profile
        service_app = "profiled_wsgi:app"
        service_env = {**env, "BENCH_PROFILE": str(args.profile.resolve()),
                       "PYTHONPATH": os.pathsep.join(filter(None, [str(BENCH), env.get("PYTHONPATH")]))}
    service = start_gunicorn("service", service_app, chdir=ROOT, env=service_env, threads=args.threads,
                             folder=folder)
    servers.append(service)
    reference = start_gunicorn("reference", "reference_app:app", chdir=BENCH, env=env, threads=args.threads,
                               folder=folder)
    servers.append(reference)
    wait_ready(service, "/api/v1/health")
    wait_ready(reference, "/health")

    per_client = args.warmup + args.requests
    receipts_per_client = math.ceil(per_client / args.lines_per_receipt)
    lines_needed = sum(args.clients) * receipts_per_client * args.lines_per_receipt
    print(f"creating {lines_needed} receipt lines ({args.lines_per_receipt} per receipt)...", flush=True)
    admin = Client(service.port, admin_token)
    receipts = build_site(admin, lines_needed, args.lines_per_receipt)
    admin.close()
    print(f"set up in {time.monotonic() - started:.0f} s", flush=True)

    body = {"quantity": 1, "location": DOCK, "item": GTIN}
    results: list[PhaseResult] = []
    next_receipt = 0
    reference_line = 0
    for clients in args.clients:
        # Reference first, then the service, back to back, so both see about the same machine.
        reference_work = []
        for _ in range(clients):
            reference_work.append([(f"/reference/lines/{reference_line + n}/confirm", body)
                                   for n in range(per_client)])
            reference_line += per_client
        print(f"reference, {clients} client(s): {clients * args.requests} timed requests...", flush=True)
        results.append(run_phase("reference", reference.port, None, reference_work, args.warmup, reference_check))

        service_work = []
        for _ in range(clients):
            lines = [line for receipt in receipts[next_receipt:next_receipt + receipts_per_client] for line in receipt]
            next_receipt += receipts_per_client
            service_work.append([(f"/api/v1/tasks/{task}/lines/{line}/confirm", body)
                                 for task, line in lines[:per_client]])
        print(f"service,   {clients} client(s): {clients * args.requests} timed requests...", flush=True)
        results.append(run_phase("service", service.port, operator_token, service_work, args.warmup, service_check))

    checks = verify(service.port, admin_token, database, args, results)
    load_after = os.getloadavg()
    if args.profile is not None:
        service.stop()  # the profile is written when the worker exits
        checks.append(f"profile  written to {args.profile} (service under cProfile: its timings are inflated)"
                      if args.profile.exists() else f"FAILED  no profile at {args.profile}")

    print()
    print(f"gunicorn -w 1 --threads {args.threads}, SQLite (WAL), both servers on one database file; "
          f"{args.requests} timed + {args.warmup} warm-up requests per client")
    print(f"{os.cpu_count()} CPUs shared by the clients and both servers; load average {load_before[0]:.2f} "
          f"before, {load_after[0]:.2f} after (anything well above 0 means other work shared the machine)")
    print()
    print_table(results)
    print()
    for clients in args.clients:
        print(f"service/reference rps at {clients:>2} client{'s' if clients > 1 else ' '}: "
              f"{fmt(ratio(results, clients))}x")
    errors = sum(r.errors for r in results)
    print()
    print(f"targets (from the issue): {TARGETS}")
    r16 = ratio(results, 16)
    if not math.isnan(r16):
        print(f"  service/reference rps at 16 clients  {fmt(r16):>7}x   target >= {TARGET_RATIO_AT_16:.1f}x   "
              f"{'met' if r16 >= TARGET_RATIO_AT_16 else 'MISSED'}")
    service_1 = next((r for r in results if r.target == "service" and r.clients == 1), None)
    if service_1 is not None:
        p50 = service_1.percentile(50)
        print(f"  service p50 at 1 client              {fmt(p50):>7} ms  target <= {TARGET_P50_AT_1_MS} ms  "
              f"{'met' if p50 <= TARGET_P50_AT_1_MS else 'MISSED'}")
    print(f"  errors                               {errors:>7}     target 0         {'met' if errors == 0 else 'MISSED'}")
    print()
    for line in checks:
        print(line)
    print(f"took {time.monotonic() - started:.0f} s")
    for r in results:
        for sample in r.samples:
            print(f"  error ({r.target}, {r.clients} clients): {sample}", file=sys.stderr)
    return 1 if errors or any(line.startswith("FAILED") for line in checks) else 0


def verify(port: int, admin_token: str, database: Path, args: argparse.Namespace,
           results: list[PhaseResult]) -> list[str]:
    """Check that the work was really done: one move per confirmation, the dock holding them, the
    ledger's invariants, the receipts whose lines were all confirmed finished, and one row per
    reference request. Lines starting with FAILED make the run fail."""
    per_client = args.warmup + args.requests
    lines: list[str] = []

    def check(ok: bool, what: str) -> None:
        lines.append(("ok      " if ok else "FAILED  ") + what)

    confirmed = sum(args.clients) * per_client
    failed = sum(r.errors for r in results if r.target == "service")
    checker = Client(port, admin_token)
    try:
        invariants = checker.ok("GET", "/api/v1/stock/invariants")
        on_hand = sum(row["on_hand"] for row in checker.ok("GET", f"/api/v1/stock?location={DOCK}&sku={SKU}"))
        done = checker.total("/api/v1/tasks?workflow=receiving&status=done&per_page=1")
    finally:
        checker.close()
    if failed:  # a failed request may or may not have been committed: only the invariants can be checked
        check(bool(invariants.get("ok")), f"ledger invariants hold ({invariants.get('moves')} moves; "
                                          f"{failed} service requests failed, so no exact count)")
    else:
        check(invariants.get("moves") == confirmed and on_hand == confirmed,
              f"{invariants.get('moves')} moves posted and {on_hand} units on {DOCK} "
              f"for {confirmed} confirmations (warm-up included)")
        check(bool(invariants.get("ok")), "ledger invariants hold" if invariants.get("ok") else
              f"ledger invariants broken: {json.dumps(invariants.get('breaches'))[:300]}")
        finished = sum(clients * (per_client // args.lines_per_receipt) for clients in args.clients)
        check(done == finished, f"{done} receipts finished (done), {finished} expected")
    with sqlite3.connect(database) as connection:
        counter = connection.execute("SELECT value FROM bench_counter WHERE id = 1").fetchone()[0]
        rows = connection.execute("SELECT COUNT(*) FROM bench_scratch").fetchone()[0]
    failed = sum(r.errors for r in results if r.target == "reference")
    if not failed:
        check(counter == rows == confirmed, f"reference: {rows} rows inserted, counter at {counter}, "
                                            f"for {confirmed} requests")
    return lines


if __name__ == "__main__":
    sys.exit(main())
