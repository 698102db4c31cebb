"""The direct websocket fan-out (warehouse/live_fanout.py) over real sockets: every client gets every
event once and in commit order, whichever transport it came in on; compressed and direct frames mix
correctly on one connection; a client that stops reading is dropped without holding up the others."""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import threading
import time
import zlib
from typing import Any

import pytest
import requests
import socketio

from tests.conftest import LiveServer
from tests.test_live_events import adjust, connect, make_site
from warehouse import live_fanout, realtime


class RawDashboard:
    """A minimal Engine.IO 4 / Socket.IO 5 websocket client on a bare socket, so that the tests see the
    frames themselves: whether each was compressed, and what a client that never reads does to the server."""

    def __init__(self, base_url: str, token: str, *, deflate: bool = True, read: bool = True,
                 receive_buffer: int | None = None) -> None:
        host, port = base_url.removeprefix("http://").split(":")
        self.sock = socket.socket()
        if receive_buffer:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.sock.settimeout(15)
        self.sock.connect((host, int(port)))
        key = base64.b64encode(os.urandom(16)).decode()
        request = (f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {host}:{port}\r\n"
                   f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                   "Sec-WebSocket-Version: 13\r\n"
                   + ("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" if deflate else "")
                   + "\r\n")
        self.sock.sendall(request.encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            assert chunk, "the server closed the connection during the handshake"
            self.buffer += chunk
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head
        self.deflated = b"permessage-deflate" in head.lower()
        self.inflater = zlib.decompressobj(-15)
        self.compressed: list[bool] = []  # per message received: was it compressed?
        assert self.message().startswith("0")  # Engine.IO OPEN
        self.send(f'40/live,{json.dumps({"token": token})}')
        answer = self.message()
        assert answer.startswith("40/live,"), answer
        self.events: list[tuple[str, Any, bool]] = []
        self.read = read

    def send(self, text: str) -> None:
        data, mask = text.encode(), os.urandom(4)
        size = len(data)
        header = (struct.pack("!BB", 0x81, 0x80 | size) if size < 126 else struct.pack("!BBH", 0x81, 0x80 | 126, size))
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _take(self, count: int) -> bytes:
        while len(self.buffer) < count:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed by the server")
            self.buffer += chunk
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def message(self) -> str:
        """The next text message; answers Engine.IO pings on the way."""
        while True:
            first, second = self._take(2)
            assert not second & 0x80, "a server's frames are never masked"
            size = second & 0x7F
            if size == 126:
                size = struct.unpack("!H", self._take(2))[0]
            elif size == 127:
                size = struct.unpack("!Q", self._take(8))[0]
            payload = self._take(size)
            opcode, compressed = first & 0x0F, bool(first & 0x40)
            assert first & 0x80, "the server sends whole messages"
            if opcode == 0x8:
                raise ConnectionError("close frame")
            if opcode != 0x1:
                continue
            if compressed:
                assert self.deflated
                payload = self.inflater.decompress(payload + b"\x00\x00\xff\xff")
            text = payload.decode()
            if text == "2":
                self.send("3")
                continue
            self.compressed.append(compressed)
            return text

    def event(self) -> tuple[str, Any, bool]:
        text = self.message()
        assert text.startswith("42/live,"), text
        name, payload = json.loads(text[len("42/live,"):])
        return name, payload, self.compressed[-1]

    def close(self) -> None:
        self.sock.close()


def outboxes() -> list[live_fanout.Outbox]:
    assert realtime.socketio.server is not None
    return [box for box in (getattr(s, "warehouse_outbox", None) for s in list(realtime.socketio.server.eio.sockets.values()))
            if box is not None]


def wait_for(condition: Any, what: str, limit: float = 20.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.05)


def test_every_client_gets_every_event_once_in_commit_order_on_any_transport(live_server: LiveServer) -> None:
    live = live_server
    token = live.cast["super2"].token
    with requests.Session() as http:
        make_site(http, live, ["FA"])
        dashboards = {"websocket": connect(live, token, transport="websocket")}
        upgrading = socketio.Client(reconnection=False)  # polling first, then the upgrade, as browsers do
        upgraded: list[dict[str, Any]] = []
        upgrading.on("stock.changed", upgraded.append, namespace="/live")
        upgrading.connect(live.url, namespaces=["/live"], auth={"token": token}, wait_timeout=10)
        dashboards["polling"] = connect(live, token, transport="polling")
        raw = RawDashboard(live.url, token, deflate=True)
        try:
            # The first event goes through engineio's queue and arms the websocket clients for direct writes.
            posted = [adjust(http, live, "FA-A1", 1)["seq"]]
            raw_events = [raw.event()]
            wait_for(lambda: [box.armed for box in outboxes()].count(True) == 3, "3 websocket clients armed")
            posted += [adjust(http, live, "FA-A1", 1)["seq"] for _ in range(24)]
            raw_events += [raw.event() for _ in posted[1:]]
            for name, (_, received, _) in dashboards.items():
                wait_for(lambda received=received: len(received) >= len(posted), f"{name} dashboard")
            wait_for(lambda: len(upgraded) >= len(posted), "upgraded dashboard")
            realtime.drain()
            armed = [box.armed for box in outboxes()]
        finally:
            for client, _, _ in dashboards.values():
                client.disconnect()
            upgrading.disconnect()
            raw.close()
    for name, (_, received, _) in dashboards.items():
        assert [event["seq"] for event in received] == posted, name
    assert [event["seq"] for event in upgraded] == posted
    assert [(name, payload["seq"]) for name, payload, _ in raw_events] == [("stock.changed", seq) for seq in posted]
    # The websocket clients (not the polling one) stay on direct writes.
    assert armed == [True, True, True], armed
    # The first event went through engineio's queue, compressed as that connection negotiated; the direct
    # frames after it are plain ones, which a permessage-deflate client reads as well.
    assert raw.deflated
    assert [compressed for _, _, compressed in raw_events] == [True] + [False] * (len(posted) - 1)


def test_a_dashboard_that_stops_reading_is_dropped_and_the_others_miss_nothing(
        live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    live = live_server
    token = live.cast["super2"].token
    monkeypatch.setattr(live_fanout, "MAX_BACKLOG_BYTES", 512 * 1024)
    room = [realtime.warehouse_room("FB")]
    with requests.Session() as http:
        make_site(http, live, ["FB"])
        stalled = RawDashboard(live.url, token, deflate=False, receive_buffer=4096)
        client, received, _ = connect(live, token, transport="websocket")
        try:
            # One event through engineio's queue arms both clients for direct writes.
            realtime._emitter.send("stock.changed", {"seq": 1, "warehouse": "FB"}, room)
            assert stalled.event()[1]["seq"] == 1
            wait_for(lambda: received and [box.armed for box in outboxes()] == [True, True], "both clients armed")
            # Then the stalled client reads nothing more. Round by round, the reading one keeps up; the
            # stalled one falls behind by far more than its kernel buffers and the allowed backlog hold.
            padding = "x" * 16 * 1024
            seq = 1
            while not any(box.closed for box in outboxes()):
                assert seq < 2000, "the stalled dashboard was never dropped"
                for _ in range(8):
                    seq += 1
                    realtime._emitter.send("stock.changed", {"seq": seq, "warehouse": "FB", "pad": padding}, room)
                realtime.drain()
                wait_for(lambda: len(received) >= seq, "the reading dashboard keeps up")
            assert [box.closed for box in outboxes()].count(True) == 1
            assert client.connected
            # The reading dashboard gets the rest as before.
            for _ in range(8):
                seq += 1
                realtime._emitter.send("stock.changed", {"seq": seq, "warehouse": "FB"}, room)
            wait_for(lambda: len(received) >= seq, "the reading dashboard got everything")
            # The stalled client finds its connection ended once it reads what the kernel had buffered.
            with pytest.raises((ConnectionError, OSError)):
                while True:
                    stalled.event()
        finally:
            client.disconnect()
            stalled.close()
    assert [event["seq"] for event in received] == list(range(1, seq + 1))


def test_frames_are_what_a_websocket_client_expects() -> None:
    for size in (0, 125, 126, 65535, 65536):
        frame = live_fanout.text_frame(b"a" * size)
        assert frame[0] == 0x81 and not frame[1] & 0x80  # final text frame, unmasked
        header = 2 + (2 if 126 <= size < 65536 else 8 if size >= 65536 else 0)
        assert len(frame) == header + size
        if size >= 126:
            assert frame[1] == (126 if size < 65536 else 127)
            assert int.from_bytes(frame[2:header], "big") == size


def test_emits_still_arrive_while_a_client_connects(live_server: LiveServer) -> None:
    """Clients that connect while events flow end up with an ordered stream of what followed."""
    live = live_server
    token = live.cast["super2"].token
    with requests.Session() as http:
        make_site(http, live, ["FC"])
        stop = threading.Event()
        posted: list[int] = []

        def keep_adjusting() -> None:
            with requests.Session() as own:
                while not stop.is_set():
                    posted.append(adjust(own, live, "FC-A1", 1)["seq"])

        worker = threading.Thread(target=keep_adjusting, daemon=True)
        worker.start()
        clients = []
        try:
            wait_for(lambda: len(posted) >= 3, "adjustments flowing")
            clients = [connect(live, token, transport="websocket") for _ in range(3)]
            wait_for(lambda: all(len(r) >= 3 for _, r, _ in clients), "events to every client")
        finally:
            stop.set()
            worker.join(20)
        last = posted[-1]
        realtime.drain()
        try:
            for _, received, _ in clients:
                wait_for(lambda received=received: received and received[-1]["seq"] == last, "the last event")
        finally:
            for client, _, _ in clients:
                client.disconnect()
    for _, received, _ in clients:
        seqs = [event["seq"] for event in received]
        assert seqs == sorted(set(seqs)), seqs
        assert seqs == posted[posted.index(seqs[0]):]
