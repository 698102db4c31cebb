"""Live events over a real Socket.IO client: strangers are refused, committed changes arrive."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import requests
import socketio

from tests.conftest import LiveServer


def connect(live: LiveServer | str, token: str | None, *, transport: str = "polling",
            ) -> tuple[socketio.Client, list[dict[str, Any]], threading.Event]:
    """A dashboard on ``/live`` (of a live server, or of a server's base URL) recording stock.changed."""
    client = socketio.Client(reconnection=False)
    received: list[dict[str, Any]] = []
    arrived = threading.Event()

    @client.on("stock.changed", namespace="/live")
    def on_change(payload: dict[str, Any]) -> None:
        received.append(payload)
        arrived.set()

    url = live if isinstance(live, str) else live.url
    client.connect(url, namespaces=["/live"], transports=[transport], auth={"token": token} if token else None,
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


def make_site(http: requests.Session, live: LiveServer, codes: list[str]) -> None:
    admin = live.cast["admin1"].headers
    for code in codes:
        for path, body in [("/warehouses", {"code": code, "name": code, "latitude": 1, "longitude": 1}),
                           ("/locations", {"code": f"{code}-A1", "warehouse": code, "type": "storage"})]:
            assert http.post(f"{live.url}/api/v1{path}", json=body, headers=admin, timeout=10).status_code == 201
    assert http.post(f"{live.url}/api/v1/items", json={"sku": "LIVE", "name": "Live widget"}, headers=admin,
                     timeout=10).status_code == 201


def adjust(http: requests.Session, live: LiveServer, location: str, quantity: int) -> dict[str, Any]:
    reply = http.post(f"{live.url}/api/v1/stock/adjustments", headers=live.cast["super1"].headers, timeout=10,
                      json={"sku": "LIVE", "location": location, "quantity": quantity, "reason": "found"})
    assert reply.status_code == 201, reply.text
    return reply.json()


def test_a_dashboard_narrowed_to_one_warehouse_hears_only_that_one(live_server: LiveServer) -> None:
    live = live_server
    with requests.Session() as http:
        make_site(http, live, ["LA", "LB"])
        client, received, arrived = connect(live, live.cast["super2"].token)
        try:
            assert client.call("subscribe", {"warehouses": ["NOPE"]}, namespace="/live", timeout=10) == \
                {"error": "unknown or inactive warehouse: NOPE"}
            assert client.call("subscribe", {"warehouses": ["LB"]}, namespace="/live", timeout=10) == \
                {"warehouses": ["LB"]}
            adjust(http, live, "LA-A1", 3)
            in_b = adjust(http, live, "LB-A1", 2)
            assert arrived.wait(15)
            # Emits reach one client in order: an event for LA, sent first, would already be here.
            assert [(e["seq"], e["warehouse"]) for e in received] == [(in_b["seq"], "LB")]

            received.clear()
            arrived.clear()
            assert client.call("subscribe", {"warehouses": []}, namespace="/live", timeout=10) == \
                {"warehouses": ["LA", "LB"]}
            in_a = adjust(http, live, "LA-A1", 1)
            assert arrived.wait(15)
            assert [(e["seq"], e["warehouse"]) for e in received] == [(in_a["seq"], "LA")]
        finally:
            client.disconnect()


def test_a_client_that_missed_events_catches_up_from_the_change_feed_exactly_once(live_server: LiveServer) -> None:
    live = live_server
    with requests.Session() as http:
        make_site(http, live, ["LC"])
        client, received, arrived = connect(live, live.cast["op1"].token)
        try:
            first = adjust(http, live, "LC-A1", 5)
            assert arrived.wait(15)
        finally:
            client.disconnect()
        last_seen = received[-1]["seq"]
        assert last_seen == first["seq"]
        missed = [adjust(http, live, "LC-A1", quantity)["seq"] for quantity in (1, 2, -3)]
        client, received, arrived = connect(live, live.cast["op1"].token)
        try:
            feed = http.get(f"{live.url}/api/v1/stock/changes", params={"after": last_seen, "limit": 100},
                            headers=live.cast["op1"].headers, timeout=10).json()
            applied = {change["seq"] for change in feed["changes"]}
            after_reconnect = adjust(http, live, "LC-A1", 4)
            assert arrived.wait(15)
            live_seqs = [event["seq"] for event in received]
        finally:
            client.disconnect()
    assert sorted(applied) == missed
    assert live_seqs == [after_reconnect["seq"]]
    assert applied.isdisjoint(live_seqs)
