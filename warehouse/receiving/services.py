"""Receiving against an expected receipt (an ASN or purchase order).

A receipt is a task whose lines are what the supplier said they would send. Each line is counted
(scan the dock, scan the item or pallet, enter or scan the quantity, lot and expiry) and verified;
what agrees with the expectation lands in the receiving location (supplier -> dock). Over-, under-
and unexpected receipts become discrepancies and post nothing until a supervisor decides.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from warehouse.catalog.models import Item
from warehouse.catalog.services import item_by_sku, lot_for
from warehouse.errors import InvalidInput
from warehouse.locations.models import LocationType
from warehouse.locations.services import location_by_code, location_for, virtual_location, warehouse_by_code
from warehouse.stock.ledger import post_move
from warehouse.tasks import services as tasks
from warehouse.tasks.models import Discrepancy, LineStatus, Task, TaskLine, Workflow


def create_receipt(session: Session, *, actor_id: int, reference: str, warehouse: str, lines: list[dict[str, Any]],
                   dock: str | None = None, supplier: str | None = None) -> Task:
    site = warehouse_by_code(session, warehouse, field="warehouse")
    receiving = location_for(session, warehouse=site, kind=LocationType.RECEIVING, code=dock, field="dock")
    if not lines:
        raise InvalidInput.field("lines", "a receipt needs at least one line")
    task_lines = []
    for index, line in enumerate(lines):
        item = item_by_sku(session, line["sku"], field=f"lines.{index}.sku")
        task_lines.append({"item": item, "expected_quantity": line["quantity"], "to_location": receiving,
                           "details": {k: str(v) for k, v in line.items() if k in ("lot", "expiry") and v}})
    return tasks.create_task(session, workflow=Workflow.RECEIVING, warehouse_id=site.id, actor_id=actor_id,
                             reference=reference, lines=task_lines,
                             details={"dock": receiving.code, "supplier": supplier})


CSV_COLUMNS = ("reference", "warehouse", "sku", "quantity")


def parse_receipts_csv(text: str) -> list[dict[str, Any]]:
    """Expected receipts from CSV with a header: reference, warehouse, sku, quantity[, lot, expiry, dock,
    supplier]. Rows sharing a reference form one receipt. Every bad row is reported, by row number."""
    if "\x00" in text:
        raise InvalidInput.field("csv", "the file contains NUL characters; export it again as plain UTF-8 text")
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise InvalidInput.field("csv", f"missing columns: {', '.join(missing)}")
    receipts: dict[str, dict[str, Any]] = {}
    errors: dict[str, list[str]] = {}
    for number, row in enumerate(reader, start=2):
        problems = []
        reference = (row.get("reference") or "").strip()
        try:
            quantity = int((row.get("quantity") or "").strip())
            if not 0 < quantity <= 1_000_000_000:
                raise ValueError
        except ValueError:
            problems.append("quantity must be a whole number from 1 to 1000000000")
            quantity = 0
        expiry = (row.get("expiry") or "").strip() or None
        if expiry:
            try:
                date.fromisoformat(expiry)
            except ValueError:
                problems.append("expiry must be a date YYYY-MM-DD")
        if not reference or not (row.get("sku") or "").strip() or not (row.get("warehouse") or "").strip():
            problems.append("reference, warehouse and sku are required")
        if problems:
            errors[f"row {number}"] = problems
            continue
        receipt = receipts.setdefault(reference, {
            "reference": reference, "warehouse": row["warehouse"].strip(),
            "dock": (row.get("dock") or "").strip() or None, "supplier": (row.get("supplier") or "").strip() or None,
            "lines": []})
        receipt["lines"].append({"sku": row["sku"].strip(), "quantity": quantity,
                                 "lot": (row.get("lot") or "").strip() or None, "expiry": expiry})
    if errors:
        raise InvalidInput(f"{len(errors)} row(s) of the CSV are invalid; nothing was imported.", errors=errors)
    if not receipts:
        raise InvalidInput.field("csv", "no rows")
    return list(receipts.values())


def add_unexpected_line(session: Session, *, task: Task, sku: str, actor_id: int) -> TaskLine:
    """Goods the supplier did not announce: a line expecting nothing, so any count is a discrepancy."""
    item = item_by_sku(session, sku, field="sku")
    if any(line.item_id == item.id and line.status in (LineStatus.OPEN.value, LineStatus.AWAITING_VERIFICATION.value)
           for line in task.lines):
        raise InvalidInput.field("sku", f"{sku} already has an open line on this receipt; count it there")
    dock = location_by_code(session, task.details["dock"])
    return tasks.add_line(session, task, item=item, expected_quantity=0, to_location=dock,
                          details={"unexpected": True, "added_by": actor_id})


class Receiving:
    workflow = Workflow.RECEIVING

    def check(self, session: Session, line: TaskLine, evidence: tasks.Evidence) -> None:
        assert line.to_location is not None
        tasks.require_location(evidence.location, line.to_location, field_name="location")
        tasks.require_item(line, evidence.item)
        item: Item = line.item  # type: ignore[assignment]
        if item.tracking != "none" and not evidence.lot_code:
            raise InvalidInput.field("lot", f"{item.sku} is lot-tracked: scan or enter the lot")
        if item.expiry_tracked and evidence.expiry_date is None and not _known_lot(session, item, evidence.lot_code):
            raise InvalidInput.field("expiry", f"{item.sku} tracks expiry: scan or enter the expiry date")

    def settle(self, session: Session, line: TaskLine, agreed: tasks.Evidence, confirmers: list[int]) -> None:
        expected = line.expected_quantity or 0
        if agreed.quantity == expected and agreed.quantity > 0:
            seq = self._post(session, line, agreed.quantity, lot_code=agreed.lot_code, expiry=agreed.expiry_date,
                             actor_id=confirmers[0], verifier_id=confirmers[-1] if len(confirmers) > 1 else None,
                             reason=f"Received on {line.task.reference}")
            # One UPDATE of the line: the lot it was received as, and done.
            tasks.mark_done(line, posted_seq=seq, details={
                **line.details, "lot": agreed.lot_code,
                "expiry": agreed.expiry_date.isoformat() if agreed.expiry_date else None})
            return
        if agreed.quantity == 0 and expected == 0:
            tasks.mark_done(line, posted_seq=None)
            return
        kind = "unexpected" if line.details.get("unexpected") else ("over" if agreed.quantity > expected else "under")
        line.details = {**line.details, "lot": agreed.lot_code,
                        "expiry": agreed.expiry_date.isoformat() if agreed.expiry_date else None}
        tasks.open_discrepancy(session, line, kind=kind, expected=expected, counted=agreed.quantity)

    def approve(self, session: Session, discrepancy: Discrepancy, actor_id: int, reason: str,
                reason_code: str) -> int | None:
        """Accept what was physically counted as received."""
        line = discrepancy.line
        quantity = discrepancy.counted_quantity or 0
        expiry = line.details.get("expiry")
        seq = self._post(session, line, quantity, lot_code=line.details.get("lot"),
                         expiry=date.fromisoformat(expiry) if expiry else None, actor_id=actor_id, verifier_id=None,
                         reason=f"Received on {line.task.reference} (approved: {reason})") if quantity else None
        tasks.mark_done(line, posted_seq=seq)
        return seq

    def reject(self, session: Session, discrepancy: Discrepancy, actor_id: int, reason: str) -> None:
        """Refuse the disputed goods: nothing is received on this line."""
        discrepancy.line.status = LineStatus.CANCELLED.value

    def _post(self, session: Session, line: TaskLine, quantity: int, *, lot_code: str | None, expiry: date | None,
              actor_id: int, verifier_id: int | None, reason: str) -> int:
        item: Item = line.item  # type: ignore[assignment]
        lot = lot_for(session, item, lot_code, expiry=expiry, create=True)
        assert line.to_location is not None
        move = post_move(session, item=item, lot=lot, source=virtual_location(session, LocationType.SUPPLIER),
                         destination=line.to_location, quantity=quantity, reason=reason, reason_code="receipt",
                         actor_id=actor_id, verifier_id=verifier_id, task_id=line.task_id)
        return move.seq


def _known_lot(session: Session, item: Item, code: str | None) -> bool:
    from warehouse.catalog.models import Lot

    return code is not None and session.scalar(select(Lot.id).where(Lot.item_id == item.id, Lot.code == code)) \
        is not None


tasks.register(Receiving())
