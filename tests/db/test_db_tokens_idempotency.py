"""API tokens, idempotency keys and the conditional delete, on SpatiaLite and PostGIS."""

from __future__ import annotations

import hashlib

import pytest

from marsgis import db
from marsgis.db import idempotency, tokens
from marsgis.exceptions import ConcurrencyError, NotFoundError, ValidationError


def test_tokens_store_only_the_hash(db_url: str) -> None:
    token, secret = tokens.create_token(" ada ", "operator", db=db_url)
    assert (token.user, token.role, token.revoked) == ("ada", "operator", False)
    assert len(token.id) == 16
    found = tokens.authenticate(secret, db=db_url)
    assert found == token
    with db.transaction(db_url) as conn:
        rows = conn.exec_driver_sql("SELECT token_hash FROM api_tokens").all()
    assert rows == [(hashlib.sha256(secret.encode()).hexdigest(),)]
    assert tokens.authenticate(secret + "x", db=db_url) is None
    assert tokens.authenticate("not-a-token", db=db_url) is None
    first = tokens.revoke_token(token.id, db=db_url)
    again = tokens.revoke_token(token.id, db=db_url)
    assert first.revoked_at is not None and again.revoked_at == first.revoked_at
    assert tokens.authenticate(secret, db=db_url) is None
    with pytest.raises(ValidationError, match="unknown role 'pilot'"):
        tokens.create_token("ada", "pilot", db=db_url)
    with pytest.raises(NotFoundError, match="no API token with id 'nope'"):
        tokens.revoke_token("nope", db=db_url)


def test_idempotency_keys_are_per_principal_and_unique(db_url: str) -> None:
    digest = idempotency.request_hash("POST", "/api/v1/missions", b'{"a": 1}')
    assert idempotency.find_response("ada", "k1", db=db_url) is None
    idempotency.save_response(
        "ada",
        "k1",
        request_hash=digest,
        status_code=201,
        headers={"Location": "/api/v1/missions/x"},
        body={"id": "x", "objectives": ["a"]},
        db=db_url,
    )
    stored = idempotency.find_response("ada", "k1", db=db_url)
    assert stored is not None
    assert (stored.status_code, stored.headers, stored.body, stored.request_hash) == (
        201,
        {"Location": "/api/v1/missions/x"},
        {"id": "x", "objectives": ["a"]},
        digest,
    )
    assert idempotency.find_response("bob", "k1", db=db_url) is None
    with pytest.raises(ConcurrencyError, match="retry it"):  # one response per (principal, key)
        idempotency.save_response(
            "ada", "k1", request_hash=digest, status_code=201, headers={}, body=None, db=db_url
        )
    with pytest.raises(ValidationError, match="Idempotency-Key"):
        idempotency.find_response("ada", "x" * 201, db=db_url)


def test_delete_mission_with_expected_version(db_url: str) -> None:
    mission = db.add_mission("A", lat=0, lon=0, db=db_url)
    db.update_mission(mission.id, expected_version=1, name="B", db=db_url)
    with pytest.raises(ConcurrencyError, match="is at version 2, you edited version 1"):
        db.delete_mission(mission.id, db=db_url, expected_version=1)
    assert db.get_mission(mission.id, db=db_url).name == "B"
    db.delete_mission(mission.id, db=db_url, expected_version=2)
    with pytest.raises(NotFoundError):
        db.delete_mission(mission.id, db=db_url, expected_version=2)
