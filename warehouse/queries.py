"""Read helpers shared by every area's queries."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from warehouse.api import Page
from warehouse.db import Prepared, attach_loaded, columns_of
from warehouse.errors import InvalidInput, NotFound


def paginate(session: Session, statement: Select[Any], query: dict[str, Any], *, scalars: bool = True) -> Page:
    page, per_page = query["page"], query["per_page"]
    total = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
    limited = statement.limit(per_page).offset((page - 1) * per_page)
    items = list(session.scalars(limited)) if scalars else list(session.execute(limited))
    return Page(items=items, total=total, page=page, per_page=per_page)


@functools.cache
def _by_code(column: InstrumentedAttribute[Any]) -> Prepared:
    # Prepared once per column: SKUs, bins and warehouses are looked up by code on every request.
    return Prepared(select(*columns_of(column.class_)).where(column == bindparam("code")))


def one_by_code(session: Session, column: InstrumentedAttribute[Any], code: str, *, noun: str,
                field: str | None = None) -> Any:
    """The row whose ``column`` equals ``code``. A missing one is a 404 when the code came from the
    URL, or a 422 naming ``field`` when it came from a request body."""
    found = _by_code(column).first(session, {"code": code})
    row = None if found is None else attach_loaded(session, column.class_, found)
    if row is None:
        if field:
            raise InvalidInput.field(field, f"unknown {noun} {code!r}")
        raise NotFound(f"No {noun} {code!r}.")
    return row


def one_by_id(session: Session, model: type[Any], row_id: int, *, noun: str, for_update: bool = False) -> Any:
    """The ``model`` row with this id (locked for the transaction with ``for_update``), or a 404."""
    statement = select(model).where(model.id == row_id)
    if for_update:
        statement = statement.with_for_update()
    row = session.scalar(statement)
    if row is None:
        raise NotFound(f"No {noun} {row_id}.")
    return row
