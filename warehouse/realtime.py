"""The one place that announces events: Socket.IO emits, and the webhook outbox.

Events are announced from inside a transaction (``announce``) and emitted only after it has
committed. With ``WAREHOUSE_REDIS_URL`` set, Flask-SocketIO relays emits through Redis so that
clients connected to any server process receive them.
"""

from __future__ import annotations

import logging
from typing import Any, Iterable

from flask_socketio import SocketIO
from sqlalchemy.orm import Session

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

    def emit() -> None:
        if socketio.server is None:  # no Socket.IO server in this process (e.g. a CLI command)
            return
        for room in rooms:
            socketio.emit(event, payload, to=room, namespace=NAMESPACE)

    after_commit(session, emit)


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
    with current_app.extensions["warehouse.db"].reading() as session:
        if isinstance(token, str) and token:
            return accounts.principal_for_token(session, token)
        cookie = request.cookies.get(SESSION_COOKIE)
        return accounts.principal_for_session(session, cookie) if cookie else None


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
