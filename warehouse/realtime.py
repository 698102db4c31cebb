"""The one place that announces events: Socket.IO emits, and the webhook outbox.

Events are announced from inside a transaction (``announce``) and emitted only after it has
committed. With ``WAREHOUSE_REDIS_URL`` set, Flask-SocketIO relays emits through Redis so that
clients connected to any server process receive them.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any, Iterable

from flask_socketio import SocketIO
from sqlalchemy.orm import Session

from warehouse import live_fanout
from warehouse.db import after_commit

log = logging.getLogger(__name__)

NAMESPACE = "/live"

socketio = SocketIO()


def warehouse_room(code: str) -> str:
    return f"warehouse:{code}"


def announce(session: Session, event: str, payload: dict[str, Any], warehouses: Iterable[str]) -> None:
    """Emit ``event`` to the rooms of ``warehouses`` once ``session`` commits, and write the webhook
    deliveries it makes (the outbox) into ``session`` now, so they commit or roll back with the change."""
    # Imported here: the webhook services read stock and catalog models, whose modules import this one.
    from warehouse.webhooks import services as webhooks

    webhooks.enqueue(session, event, payload)
    rooms = sorted({warehouse_room(code) for code in warehouses})
    after_commit(session, lambda: _emitter.send(event, payload, rooms))


class _Emitter:
    """Writes committed events to the sockets from one background thread, in the order commits hand them over.

    Emitting to a room writes to every connected socket (or publishes to Redis); done on the request's
    thread it made every confirmation wait for all the dashboards. Events still queued when the process
    dies are not lost to clients: they catch up from ``/stock/changes`` by seq.
    """

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[str, dict[str, Any], list[str]]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def send(self, event: str, payload: dict[str, Any], rooms: list[str]) -> None:
        if socketio.server is None:  # no Socket.IO server in this process (e.g. a CLI command)
            return
        if self._thread is None:
            with self._lock:
                if self._thread is None:  # started lazily: after a forking server has forked
                    self._thread = threading.Thread(target=self._run, name="live-emitter", daemon=True)
                    self._thread.start()
        self._queue.put((event, payload, rooms))

    def _run(self) -> None:
        while True:
            # Everything committed since the last round goes out as one batch: each client gets all of
            # it in one write (live_fanout.batch), still one Socket.IO event per frame, in commit order.
            items = [self._queue.get()]
            while True:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                with live_fanout.batch():
                    for event, payload, rooms in items:
                        try:
                            for room in rooms:
                                socketio.emit(event, payload, to=room, namespace=NAMESPACE)
                        except Exception:  # one failed send must not silence every later event
                            log.exception("could not emit %s", event)
            except Exception:  # writing the batch out failed as a whole (each client's failure is its own)
                log.exception("could not send %d live events", len(items))
            finally:
                for _ in items:
                    self._queue.task_done()

    def drain(self) -> None:
        """Wait until everything handed over so far has been emitted (tests, orderly shutdown)."""
        self._queue.join()


_emitter = _Emitter()
drain = _emitter.drain


def _connecting_principal(auth: Any) -> Any:
    """Who opens this Socket.IO connection: ``auth={"token": ...}``, an ``Authorization: Bearer``
    header, or the browser's session cookie. None for strangers."""
    from flask import current_app, request

    from warehouse.accounts import services as accounts
    from warehouse.api import SESSION_COOKIE

    token = auth.get("token") if isinstance(auth, dict) else None
    header = request.headers.get("Authorization", "")
    if not token and header.lower().startswith("bearer "):
        token = header[7:].strip()
    with current_app.extensions["warehouse.db"].lookup() as connection:
        if isinstance(token, str) and token:
            return accounts.principal_for_token(connection, token)
        cookie = request.cookies.get(SESSION_COOKIE)
        return accounts.principal_for_session(connection, cookie) if cookie else None


@socketio.on("connect")
def _refuse_default_namespace(auth: Any = None) -> None:
    """Live events are only on ``/live``; nobody connects elsewhere."""
    raise ConnectionRefusedError("connect to the /live namespace")


def _visible_warehouses() -> list[str]:
    """Every active warehouse: any user allowed to read stock may watch all of them."""
    from flask import current_app
    from sqlalchemy import select

    from warehouse.locations.models import Warehouse

    with current_app.extensions["warehouse.db"].reading() as session:
        return list(session.scalars(select(Warehouse.code).where(Warehouse.active.is_(True))
                                    .order_by(Warehouse.code)))


@socketio.on("connect", namespace=NAMESPACE)
def _connect_live(auth: Any = None) -> None:
    """Authenticated clients join the rooms of every warehouse they may see; strangers are refused."""
    from flask_socketio import join_room

    principal = _connecting_principal(auth)
    if principal is None or not principal.can("stock:read"):
        raise ConnectionRefusedError("authentication required")
    for code in _visible_warehouses():
        join_room(warehouse_room(code), namespace=NAMESPACE)


@socketio.on("subscribe", namespace=NAMESPACE)
def _subscribe(message: Any = None) -> dict[str, Any]:
    """Narrow (or widen back) the warehouses this client hears about: ``{"warehouses": [codes]}``;
    an empty list means all. The acknowledgement names the rooms now joined, or the error."""
    from flask_socketio import join_room, leave_room, rooms

    wanted = message.get("warehouses") if isinstance(message, dict) else None
    if not isinstance(wanted, list) or not all(isinstance(code, str) for code in wanted):
        return {"error": 'send {"warehouses": ["CODE", ...]} (an empty list for all)'}
    visible = _visible_warehouses()
    unknown = sorted(set(wanted) - set(visible))
    if unknown:
        return {"error": f"unknown or inactive warehouse: {', '.join(unknown)}"}
    chosen = sorted(set(wanted)) or visible
    keep = {warehouse_room(code) for code in chosen}
    for room in rooms(namespace=NAMESPACE):
        if room.startswith("warehouse:") and room not in keep:
            leave_room(room, namespace=NAMESPACE)
    for room in keep:
        join_room(room, namespace=NAMESPACE)
    return {"warehouses": chosen}
