"""The bare reference for bench/live_latency.py: Socket.IO fan-out with nothing else behind it.

A Flask-SocketIO app configured like the service (threading mode, namespace ``/live``, the same
``cors_allowed_origins`` and, when ``BENCH_LIVE_REDIS_URL`` is set, a Redis message queue) that has
no database and does no work: ``POST /emit`` stamps an event with the current time and emits it to
the room every dashboard joined. The gap between the service and this is what the service's own
work (transaction, ledger, scan log, after-commit emits) adds to the live path.

Serve it with ``gunicorn -w 1 --threads 64 -b 127.0.0.1:PORT live_reference_app:app`` from this
folder, with ``BENCH_LIVE_TOKEN`` set to the token dashboards must present.
"""

from __future__ import annotations

import itertools
import os
import threading
from datetime import UTC, datetime
from typing import Any

from flask import Flask, jsonify
from flask_socketio import SocketIO, join_room

NAMESPACE = "/live"
ROOM = "dashboards"

app = Flask(__name__)
socketio = SocketIO(app, async_mode="threading", cors_allowed_origins=[], logger=False, engineio_logger=False,
                    message_queue=os.environ.get("BENCH_LIVE_REDIS_URL") or None,
                    # Pub/sub channels are global to a Redis server: a channel of its own keeps this
                    # app's emits away from any service sharing that Redis, and theirs away from it.
                    channel="bench-live-reference")
if os.environ.get("BENCH_LIVE_FANOUT") == "direct":
    from warehouse import live_fanout

    live_fanout.install(socketio.server)

_sequence = itertools.count(1)
_sequence_lock = threading.Lock()


@app.get("/health")
def health() -> Any:
    return jsonify(ok=True)


@app.post("/emit")
def emit() -> Any:
    with _sequence_lock:
        seq = next(_sequence)
    # Shaped and sized like the service's stock.changed, so that both send about the same frames.
    payload = {"seq": seq, "sku": "BENCH-ITEM", "item_name": "Benchmark widget", "location": "BENCH-DOCK",
               "warehouse": "BENCH", "lot": None, "delta": 1, "on_hand": seq, "reserved": 0, "available": seq,
               "reason": "receipt", "reason_code": None, "task_id": 1, "user_id": 2,
               "at": datetime.now(UTC).isoformat()}
    socketio.emit("stock.changed", payload, to=ROOM, namespace=NAMESPACE)
    return jsonify(seq=seq)


@socketio.on("connect", namespace=NAMESPACE)
def connect(auth: Any = None) -> None:
    token = auth.get("token") if isinstance(auth, dict) else None
    if not token or token != os.environ.get("BENCH_LIVE_TOKEN"):
        raise ConnectionRefusedError("authentication required")
    join_room(ROOM, namespace=NAMESPACE)


@socketio.on("subscribe", namespace=NAMESPACE)
def subscribe(message: Any = None) -> dict[str, Any]:
    # The dashboards send the same subscribe as to the service; everyone is already in the one room.
    wanted = message.get("warehouses") if isinstance(message, dict) else None
    return {"warehouses": wanted or ["BENCH"]}
