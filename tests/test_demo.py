"""The demo data gives a new user one task of every floor workflow to try on the handheld, built
through the workflow services on a ledger that checks out. (An empty database of its own: the
shared test database holds the test cast, and the demo only seeds an empty one.)"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, select

from warehouse import demo
from warehouse.db import Database
from warehouse.migrate import upgrade
from warehouse.stock.checks import check_ledger
from warehouse.tasks.models import Task


def test_demo_has_a_task_of_every_workflow_and_seeds_only_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    db = Database(url)
    assert demo.seed(db) is True
    with db.reading() as session:
        tasks = {task.workflow: task for task in session.scalars(select(Task).order_by(Task.id))}
        assert set(tasks) == {"receiving", "putaway", "picking", "counting", "returns"}
        assert all(task.status == "open" and task.lines for task in tasks.values())
        receipt = tasks["receiving"]
        assert receipt.reference == "ASN-DEMO-1" and receipt.details["dock"] == "AMS-DOCK-1"
        assert any(line.item.tracking == "lot" and line.details.get("expiry") for line in receipt.lines)
        assert tasks["picking"].details["short"] == [], "the demo pick reserved everything it asks for"
        assert any(line.item_id is None for line in tasks["counting"].lines), "an empty bin to confirm"
        assert check_ledger(session).ok
    assert demo.seed(db) is False
    db.dispose()
    for needle in ("ASN-DEMO-1", "SO-DEMO-1", "RMA-DEMO-1", "AMS-A-02-01"):
        assert needle in demo.DEMO_CREDENTIALS
