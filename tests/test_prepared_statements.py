"""``db.Prepared`` runs the hot paths' statements on the driver itself. What it stores and reads must be
exactly what SQLAlchemy stores and reads (a timestamp that came back naive, a list that came back as
text, would be wrong on every screen), and a refused write must still be the error the API turns into
a 409, not a crash. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from warehouse.accounts.models import ApiToken, User
from warehouse.db import Database, Prepared, attach_loaded, columns_of, utcnow

_TOKENS = ApiToken.__table__
_INSERT_TOKEN = Prepared(insert(_TOKENS).returning(_TOKENS.c.id),
                         keys=["user_id", "name", "token_hash", "prefix", "scopes", "created_at", "expires_at"])
_TOKENS_OF = Prepared(select(*columns_of(ApiToken)).where(ApiToken.token_hash.in_(bindparam("hashes", expanding=True)))
                      .order_by(ApiToken.id))


def _token(user_id: int, hash_: str, **values: object) -> dict[str, object]:
    return {"user_id": user_id, "name": "test", "token_hash": hash_, "prefix": "wh_test", "scopes": ["stock:read"],
            "created_at": utcnow(), "expires_at": None, **values}


def test_values_read_back_as_sqlalchemy_reads_them(db: Database) -> None:
    expires = datetime(2031, 5, 17, 8, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    with db.transaction() as session:
        user_id = session.scalar(select(User.id).where(User.username == "op1"))
        token_id, = _INSERT_TOKEN.rows(session, _token(user_id, "a" * 64, scopes=["stock:read", "tasks:work"],
                                                       expires_at=expires))[0]
        row = _TOKENS_OF.first(session, {"hashes": ["a" * 64]})
        assert row is not None
        prepared = attach_loaded(session, ApiToken, row)
        session.expunge(prepared)  # read it again through the ORM, as every other query does
        loaded = session.get(ApiToken, token_id)
    assert loaded is not prepared
    assert prepared.scopes == loaded.scopes == ["stock:read", "tasks:work"]
    assert prepared.expires_at == loaded.expires_at == expires
    assert prepared.expires_at.tzinfo is not None and loaded.expires_at.utcoffset() == timedelta(0)
    assert prepared.created_at == loaded.created_at and prepared.revoked_at is None


@pytest.mark.parametrize("count", [0, 1, 3])
def test_in_lists_of_any_length(db: Database, count: int) -> None:
    with db.transaction() as session:
        user_id = session.scalar(select(User.id).where(User.username == "op1"))
        hashes = [f"{index}" * 64 for index in range(1, 4)]
        for hash_ in hashes:
            _INSERT_TOKEN.run(session, _token(user_id, hash_))
        found = [attach_loaded(session, ApiToken, row).token_hash
                 for row in _TOKENS_OF.rows(session, {"hashes": hashes[:count]})]
    assert found == hashes[:count]


def test_a_refused_write_is_sqlalchemys_integrity_error(db: Database) -> None:
    with pytest.raises(IntegrityError):
        with db.transaction() as session:
            user_id = session.scalar(select(User.id).where(User.username == "op1"))
            _INSERT_TOKEN.run(session, _token(user_id, "b" * 64))
            _INSERT_TOKEN.run(session, _token(user_id, "b" * 64))  # the token hash is unique
