"""Fan-out of live events to websockets without a thread switch per client.

Stock python-engineio (threading mode) gives every websocket a writer thread and a queue: an emit to a
room of 50 dashboards is 50 queue puts, 50 thread wake-ups that each take the GIL in turn, and 50
websocket frames built one by one. Measured with ``bench/live_latency.py``, that was about 75 µs of
server CPU per delivery, so at 100 scans/s (two events each, 50 dashboards) fan-out alone wanted most
of a core and every delivery queued behind the others for the GIL.

Here an event's websocket frame is built once (when Socket.IO encoded the packet once for the room)
and written straight to each client's socket by the thread that emits, in one ``send`` per client.
``batch()`` lets the emitter thread hand over several events at once: each client then gets all of
them in one ``send``. Nothing about the protocol changes: every event is still its own Socket.IO
packet in its own websocket frame, as the dashboards and any other client expect.

What stays as it was:

- Clients on long-polling, TLS served by the Python process itself (``gunicorn --certfile``: put TLS
  in the proxy instead), and anything this module does not recognise go through engineio's own
  per-client queue, unchanged.
- Everything else sent to a client (connect, acknowledgements, pings, close) still goes through
  engineio's queue and writer thread. Writes from both paths to one socket are serialised by one lock.
- Order: events reach a client in the order they were emitted. A client starts on engineio's queue;
  its first event there is followed by a marker packet, and only when the writer thread has written
  everything before the marker does the client switch to direct writes. Events never overtake one
  another; an event may overtake an acknowledgement or ping that was queued at the same moment.
- A client that does not read: frames are written without blocking. What the kernel does not take is
  kept (in order) and written by a thread of that client's own, so one slow dashboard never holds up
  the others. A client more than ``MAX_BACKLOG_BYTES`` or ``MAX_STALL_SECONDS`` behind is
  disconnected; it reconnects and catches up from ``/api/v1/stock/changes`` by seq.

Direct frames are never compressed. A client that negotiated permessage-deflate (browsers do) accepts
uncompressed messages too (RFC 7692 compresses per message); dashboard events are a few hundred bytes,
and compressing them once per client cost more CPU than the bytes were worth.
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import ssl
import struct
import threading
import time
from collections import deque
from typing import Any, Iterator

log = logging.getLogger(__name__)

MAX_BACKLOG_BYTES = 4 * 1024 * 1024
MAX_STALL_SECONDS = 30.0

_batch = threading.local()  # .outboxes: dict[Outbox, list[bytes]] while a batch() is open on this thread


def _libc_send() -> Any:
    """libc's send(2), called *without* releasing the GIL (ctypes.PyDLL), or None where unavailable.

    ``socket.send`` releases the GIL around the system call. A fan-out is then 50 releases, and each time
    the emitting thread wants the GIL back while a request thread is busy in Python, it waits up to the
    switch interval (5 ms): measured, 50 sends took p99 112 ms beside three busy threads. A non-blocking
    send takes microseconds, so holding the GIL through it is cheaper than giving it away: p99 3 ms."""
    import ctypes
    import errno
    import os

    if not hasattr(socket, "MSG_DONTWAIT"):
        return None
    try:
        function = ctypes.PyDLL(None, use_errno=True).send
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int]
    function.restype = ctypes.c_ssize_t
    flags = socket.MSG_DONTWAIT | getattr(socket, "MSG_NOSIGNAL", 0)
    again = {errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR, errno.ENOBUFS}

    def send(sock: socket.socket, data: bytes) -> int:
        sent = function(sock.fileno(), data, len(data), flags)
        if sent >= 0:
            return int(sent)
        code = ctypes.get_errno()
        if code in again:
            return 0
        raise OSError(code, os.strerror(code))

    return send


def _socket_send(sock: socket.socket, data: bytes) -> int:
    try:
        return sock.send(data, getattr(socket, "MSG_DONTWAIT", 0))
    except (BlockingIOError, InterruptedError):
        return 0


send_nowait = _libc_send() or _socket_send


def text_frame(payload: bytes) -> bytes:
    """One unmasked, final websocket text frame (a server's frames are never masked)."""
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x81, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x81, 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 127, size)
    return header + payload


class Outbox:
    """Every byte written to one websocket connection, in order, from any thread."""

    def __init__(self, sock: socket.socket) -> None:
        self.lock = threading.Lock()
        # A socket object of our own on the same connection: it can be closed under our lock (no write can
        # reach a reused descriptor), and it never waits for the socket to become writable. The original's
        # timeout mode is kept, so its blocking behaviour (the reader thread's recv) does not change.
        self._sock = sock.dup()
        if self._sock.gettimeout() is not None:  # the descriptor is already non-blocking underneath
            self._sock.settimeout(0.0)
        self._backlog: deque[bytes] = deque()
        self._backlog_bytes = 0
        self._flusher: threading.Thread | None = None
        self.closed = False
        self.armed = False  # engineio's queue has drained past our marker: events may be written directly
        self.arming = False  # the marker is queued

    @classmethod
    def for_websocket(cls, ws: Any) -> Outbox | None:
        sock = getattr(ws, "sock", None)
        if not isinstance(sock, socket.socket) or isinstance(sock, ssl.SSLSocket):
            return None  # TLS in this process (or a server we do not know): engineio's own path
        try:
            return cls(sock)
        except OSError:
            return None

    # -- writing

    def write(self, data: bytes) -> None:
        """Write ``data`` after everything written before it; never waits for the client."""
        with self.lock:
            self.write_locked(data)

    def write_locked(self, data: bytes) -> None:
        if self.closed:
            return
        if self._backlog:  # a flusher is at work: keep the order
            self._keep(data)
            return
        try:
            sent = send_nowait(self._sock, data)
        except OSError:
            self._close_locked()
            return
        if sent < len(data):
            self._keep(data[sent:])

    def _keep(self, data: bytes) -> None:
        self._backlog.append(data)
        self._backlog_bytes += len(data)
        if self._backlog_bytes > MAX_BACKLOG_BYTES:
            log.warning("live client %s fell %d bytes behind; disconnecting it", self._peer(), self._backlog_bytes)
            self._close_locked()
            return
        if self._flusher is None:
            self._flusher = threading.Thread(target=self._flush, name="live-slow-client", daemon=True)
            self._flusher.start()

    def _flush(self) -> None:
        """Writes the backlog of a client that stopped taking data, until it is empty (then ends)."""
        deadline = time.monotonic() + MAX_STALL_SECONDS
        while True:
            with self.lock:
                if self.closed or not self._backlog:
                    self._flusher = None
                    return
                data = self._backlog[0]
            try:
                ready = select.select([], [self._sock], [], max(0.0, deadline - time.monotonic()))[1]
                with self.lock:
                    sent = -1 if self.closed else send_nowait(self._sock, data) if ready else 0
            except (OSError, ValueError):  # closed under us
                sent = -1
            with self.lock:
                if self.closed:
                    self._flusher = None
                    return
                if sent < 0 or (sent == 0 and time.monotonic() >= deadline):
                    log.warning("live client %s stopped reading; disconnecting it", self._peer())
                    self._flusher = None
                    self._close_locked()
                    return
                if sent:
                    deadline = time.monotonic() + MAX_STALL_SECONDS
                    self._backlog_bytes -= sent
                    if sent == len(data):
                        self._backlog.popleft()
                    else:
                        self._backlog[0] = data[sent:]

    # -- closing

    def _peer(self) -> str:
        try:
            return str(self._sock.getpeername())
        except OSError:
            return "?"

    def _close_locked(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._backlog.clear()
        self._backlog_bytes = 0
        with contextlib.suppress(OSError):
            # Shuts the connection itself (not just our descriptor): the reader thread sees it end, and
            # Socket.IO runs its disconnect as for any other lost client.
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()

    def close(self) -> None:
        """The connection is over (called when its handler returns): release our descriptor."""
        with self.lock:
            if not self.closed:
                self.closed = True
                self._backlog.clear()
                self._sock.close()


@contextlib.contextmanager
def batch() -> Iterator[None]:
    """Collect what this thread writes directly to clients, and send each client's share in one write at
    the end. Nested use joins the outer batch."""
    if getattr(_batch, "outboxes", None) is not None:
        yield
        return
    pending: dict[Outbox, list[bytes]] = {}
    _batch.outboxes = pending
    try:
        yield
    finally:
        _batch.outboxes = None
        for outbox, frames in pending.items():
            outbox.write(frames[0] if len(frames) == 1 else b"".join(frames))


# ------------------------------------------------------------------ engineio and Socket.IO hooks

def install(server: Any) -> bool:
    """Route ``server``'s (a ``socketio.Server`` in threading mode) room emits through direct writes.
    Returns False, and leaves the server as it was, when its internals are not the ones this was written
    for (another async mode, another engineio); everything then works as stock Socket.IO does."""
    try:
        from engineio import packet as eio_packet
        from engineio.async_drivers._websocket_wsgi import SimpleWebSocketWSGI
        from engineio.socket import Socket as EngineSocket
    except ImportError:
        return False
    eio = getattr(server, "eio", None)
    drivers = getattr(eio, "_async", None)
    if (getattr(server, "async_mode", None) != "threading" or not isinstance(drivers, dict)
            or drivers.get("websocket") is not SimpleWebSocketWSGI or not hasattr(server, "_send_eio_packet")
            or not all(hasattr(EngineSocket, name) for name in ("send", "_websocket_handler"))):
        log.warning("live events use Socket.IO's own fan-out: this engineio (%s) is not the one the direct "
                    "fan-out was written for", getattr(eio, "async_mode", "?"))
        return False

    class ArmMarker(str):
        """What the marker packet encodes to: a NOOP ("6") that names the outbox it arms. Should it ever
        go out on long-polling, it is an ordinary NOOP."""

        outbox: Outbox

    class ArmPacket(eio_packet.Packet):
        def __init__(self, outbox: Outbox) -> None:
            super().__init__(eio_packet.NOOP)
            self.marker = ArmMarker(super().encode())
            self.marker.outbox = outbox

        def encode(self, b64: bool = False) -> Any:
            return self.marker

    class LiveWebSocket(SimpleWebSocketWSGI):  # type: ignore[misc]
        """engineio's threading websocket, with the connection's writes going through an Outbox."""

        outbox: Outbox | None = None

        def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
            import simple_websocket

            self.ws = simple_websocket.Server(environ, **self.server_args)
            self.outbox = Outbox.for_websocket(self.ws)
            engine_socket = getattr(self.app, "__self__", None)  # app is that socket's _websocket_handler
            if self.outbox is not None and isinstance(engine_socket, EngineSocket):
                engine_socket.warehouse_outbox = self.outbox  # type: ignore[attr-defined]
            try:
                result = self.app(self)
            finally:
                if self.outbox is not None:
                    self.outbox.close()
            # As SimpleWebSocketWSGI: tell the server that the connection is not HTTP any more.
            if self.ws.mode == "gunicorn":
                raise StopIteration()
            if self.ws.mode == "werkzeug":
                raise ConnectionError()
            return result

        def send(self, message: Any) -> None:
            """engineio's writer thread: everything that is not a direct event, in its queue's order."""
            outbox = self.outbox
            if outbox is None:
                return super().send(message)
            from wsproto.events import BytesMessage, TextMessage

            with outbox.lock:
                if isinstance(message, ArmMarker):
                    outbox.armed = True  # everything queued before the marker is written
                    return None
                if not self.ws.connected or outbox.closed:
                    raise OSError("websocket closed")
                event = BytesMessage(data=message) if isinstance(message, bytes) else TextMessage(data=str(message))
                outbox.write_locked(self.ws.ws.send(event))
            return None

    sockets = eio.sockets

    def send_eio_packet(eio_sid: str, pkt: Any) -> None:
        """Socket.IO's room emit, once per client, with the one packet it encoded for the room."""
        engine_socket = sockets.get(eio_sid)
        outbox = getattr(engine_socket, "warehouse_outbox", None)
        if outbox is None or pkt.packet_type != eio_packet.MESSAGE or pkt.binary:
            server.eio.send_packet(eio_sid, pkt)
            return
        if not outbox.armed:
            server.eio.send_packet(eio_sid, pkt)  # in engineio's queue, in order with what is already there
            if (not outbox.arming and engine_socket.upgraded and not engine_socket.upgrading
                    and not engine_socket.closed):
                # The writer thread owns the connection now; when it reaches the marker, all we queued is
                # written and the direct path takes over.
                outbox.arming = True
                engine_socket.send(ArmPacket(outbox))
            return
        frame = getattr(pkt, "warehouse_frame", None)
        if frame is None:  # the first client of this emit: the frame every client of the room gets
            frame = pkt.warehouse_frame = text_frame(pkt.encode().encode("utf-8"))
        pending = getattr(_batch, "outboxes", None)
        if pending is None:
            outbox.write(frame)
        else:
            pending.setdefault(outbox, []).append(frame)

    drivers = dict(drivers)
    drivers["websocket"] = LiveWebSocket
    eio._async = drivers
    server._send_eio_packet = send_eio_packet
    return True
