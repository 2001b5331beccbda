"""The in-process token cache: a revocation elsewhere takes effect within its bound, here at once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from marsgis import db
from marsgis.db import tokens

ROOT = Path(__file__).resolve().parents[2]


def _revoke_in_another_process(url: str, token_id: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "marsgis", "token", "revoke", token_id, "--url", url, "--json"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_token_revoked_elsewhere_is_refused_after_the_bound(db_url: str) -> None:
    db.upgrade(db_url)
    token, secret = tokens.create_token("ada", "scientist", db=db_url)
    now = [100.0]
    cache = tokens.TokenCache(seconds=5.0, clock=lambda: now[0])
    assert cache.authenticate(secret, db_url) == token
    _revoke_in_another_process(db_url, token.id)
    assert tokens.authenticate(secret, db=db_url) is None  # the database already refuses it
    now[0] = 104.9  # within the documented bound this process may still accept it
    assert cache.authenticate(secret, db_url) == token
    now[0] = 105.0  # from the bound on, never
    assert cache.authenticate(secret, db_url) is None
    assert cache.cached(secret, db_url) == (False, None)  # refusals are not remembered


def test_a_revocation_in_this_process_clears_every_cache_at_once(db_url: str) -> None:
    db.upgrade(db_url)
    token, secret = tokens.create_token("ada", "viewer", db=db_url)
    other, other_secret = tokens.create_token("bea", "viewer", db=db_url)
    cache = tokens.TokenCache(seconds=3600.0, clock=lambda: 0.0)
    assert cache.authenticate(secret, db_url) == token
    assert cache.authenticate(other_secret, db_url) == other
    assert tokens.TOKEN_CACHE.authenticate(secret, db_url) == token
    tokens.revoke_token(token.id, db=db_url)
    assert cache.cached(secret, db_url) == (False, None)
    assert cache.authenticate(secret, db_url) is None
    assert tokens.TOKEN_CACHE.authenticate(secret, db_url) is None
    assert cache.authenticate(other_secret, db_url) == other  # others are read again, still valid


def test_the_cache_is_bounded_and_keyed_by_database(db_url: str, tmp_path: Path) -> None:
    db.upgrade(db_url)
    made = [tokens.create_token(f"u{i}", "viewer", db=db_url) for i in range(3)]
    cache = tokens.TokenCache(seconds=60.0, size=2, clock=lambda: 0.0)
    for token, secret in made:
        assert cache.authenticate(secret, db_url) == token
    hits = [cache.cached(secret, db_url)[0] for _, secret in made]
    assert hits == [False, True, True]  # the least recently used one was dropped
    elsewhere = f"sqlite:///{tmp_path / 'other.sqlite'}"
    assert cache.cached(made[2][1], elsewhere) == (False, None)
