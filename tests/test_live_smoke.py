from __future__ import annotations

import json
import urllib.request

from tests.conftest import LiveServer
from warehouse.migrate import head_revision


def test_health_over_real_http(live_server: LiveServer) -> None:
    with urllib.request.urlopen(f"{live_server.url}/api/v1/health") as response:
        body = json.load(response)
    assert body["status"] == "ok" and body["schema_revision"] == head_revision()
