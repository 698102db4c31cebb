"""Live events over a real Socket.IO client: strangers are refused, committed changes arrive."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import requests
import socketio

from tests.conftest import LiveServer


def connect(live: LiveServer, token: str | None) -> tuple[socketio.Client, list[dict[str, Any]], threading.Event]:
    client = socketio.Client(reconnection=False)
    received: list[dict[str, Any]] = []
    arrived = threading.Event()

    @client.on("stock.changed", namespace="/live")
    def on_change(payload: dict[str, Any]) -> None:
        received.append(payload)
        arrived.set()

    client.connect(live.url, namespaces=["/live"], transports=["polling"], auth={"token": token} if token else None,
                   wait_timeout=10)
    return client, received, arrived


def test_a_stranger_cannot_listen(live_server: LiveServer) -> None:
    with pytest.raises(socketio.exceptions.ConnectionError):
        connect(live_server, None)
    with pytest.raises(socketio.exceptions.ConnectionError):
        connect(live_server, "wh_not-a-real-token")


def test_a_committed_adjustment_arrives_and_a_refused_one_does_not(live_server: LiveServer) -> None:
    live = live_server
    admin = live.cast["admin1"].headers
    with requests.Session() as http:
        for path, body in [("/warehouses", {"code": "LV", "name": "Live", "latitude": 1, "longitude": 1}),
                           ("/locations", {"code": "LV-A1", "warehouse": "LV", "type": "storage"}),
                           ("/items", {"sku": "LIVE", "name": "Live widget"})]:
            assert http.post(f"{live.url}/api/v1{path}", json=body, headers=admin, timeout=10).status_code == 201
        client, received, arrived = connect(live, live.cast["op1"].token)
        try:
            refused = http.post(f"{live.url}/api/v1/stock/adjustments", headers=live.cast["super1"].headers,
                                json={"sku": "LIVE", "location": "LV-A1", "quantity": -5, "reason": "x"}, timeout=10)
            assert refused.status_code == 409
            posted = http.post(f"{live.url}/api/v1/stock/adjustments", headers=live.cast["super1"].headers,
                               json={"sku": "LIVE", "location": "LV-A1", "quantity": 4, "reason": "found"},
                               timeout=10).json()
            # Events reach one client in the order they were emitted, so a (wrong) event for the refused
            # request, sent first, would be here before the committed one.
            assert arrived.wait(15), "the committed change never arrived"
            assert [(e["seq"], e["sku"], e["location"], e["delta"], e["on_hand"]) for e in received] == \
                [(posted["seq"], "LIVE", "LV-A1", 4, 4)]
        finally:
            client.disconnect()
