"""SERIALIZABLE transactions, their retries, and the CockroachDB flavour of the schema.

No CockroachDB server can run here (docs/station.md, "CockroachDB"): the ``cockroachdb://``
path is tested as far as the dialect goes (engines, every migration compiled offline), and
its behaviour on the local PostgreSQL server at ``SERIALIZABLE`` (``?marsgis_compat=
cockroachdb``), where serialisation failures (SQLSTATE 40001) are real.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
import sqlalchemy as sa
from geoalchemy2 import Geometry

from marsgis import db
from marsgis.db.schema import metadata
from marsgis.exceptions import ConcurrencyError, DatabaseError, ValidationError

COMPAT = "marsgis_compat=cockroachdb"


# ----------------------------------------------------------------------------- engines


def test_cockroachdb_urls_use_the_cockroachdb_dialect() -> None:
    for url in (
        "cockroachdb://root@127.0.0.1:26257/defaultdb",
        "cockroachdb+psycopg2://root@127.0.0.1:26257/defaultdb",
    ):
        engine = db.get_engine(url, migrate=False)
        assert (engine.dialect.name, engine.dialect.driver) == ("cockroachdb", "psycopg2")
        assert db.database_flavour(engine) == "cockroachdb"
    db.dispose_engines()


def test_no_cockroachdb_server_is_a_clear_error() -> None:
    # nothing listens on 26257 here: the URL, password hidden, and the fix are named
    url = "cockroachdb://root:secret@127.0.0.1:26257/defaultdb"
    with pytest.raises(DatabaseError, match="cannot connect") as info:
        db.get_engine(url)
    assert "root:***@127.0.0.1:26257" in str(info.value)
    assert "secret" not in str(info.value)
    db.dispose_engines()


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("postgresql+psycopg2://u@h/d?marsgis_isolaton=serializable", "marsgis_isolaton"),
        ("postgresql+psycopg2://u@h/d?marsgis_isolation=snapshot", "'snapshot'"),
        ("postgresql+psycopg2://u@h/d?marsgis_compat=yugabyte", "'yugabyte'"),
        ("cockroachdb://u@h/d?marsgis_isolation=serializable", "PostgreSQL URLs only"),
    ],
)
def test_bad_marsgis_url_options_are_refused(url: str, words: str) -> None:
    with pytest.raises(ValidationError) as info:
        db.get_engine(url, migrate=False)
    assert words in str(info.value)


def test_sqlite_takes_no_isolation_option(tmp_path: Any) -> None:
    path = tmp_path / "s.sqlite"
    path.touch()
    with pytest.raises(ValidationError, match="PostgreSQL URLs only"):
        db.get_engine(f"sqlite:///{path}?marsgis_isolation=serializable", migrate=False)


@pytest.mark.postgis
def test_url_options_set_the_isolation_and_stay_away_from_the_driver(postgis_url: str) -> None:
    expected = {
        postgis_url: ("read committed", "postgresql"),
        f"{postgis_url}?marsgis_isolation=serializable": ("serializable", "postgresql"),
        f"{postgis_url}?{COMPAT}": ("serializable", "cockroachdb"),
    }
    for url, (isolation, flavour) in expected.items():
        engine = db.get_engine(url, migrate=False)
        assert dict(engine.url.query) == {}  # psycopg2 would refuse marsgis_* keywords
        with engine.connect() as conn:
            assert conn.execute(sa.text("SHOW transaction_isolation")).scalar() == isolation
            assert db.database_flavour(conn) == flavour


# ----------------------------------------------------------------------------- retries


@pytest.fixture
def counter_urls(postgis_url: str) -> tuple[str, str]:
    """(a SERIALIZABLE URL, a plain one) of a database with a one-row table ``counter``."""
    serializable = f"{postgis_url}?marsgis_isolation=serializable"
    db.upgrade(serializable)
    with db.get_engine(postgis_url).begin() as conn:
        conn.execute(sa.text("CREATE TABLE counter (id integer PRIMARY KEY, n integer)"))
        conn.execute(sa.text("INSERT INTO counter VALUES (1, 0)"))
    return serializable, postgis_url


def _bump(url: str, other: str, calls: list[int], interfere: int) -> Any:
    """A callback adding 1 to the counter; its first ``interfere`` runs are overtaken."""

    def bump(conn: Any) -> int:
        calls.append(len(calls) + 1)
        n = int(conn.execute(sa.text("SELECT n FROM counter WHERE id = 1")).scalar_one())
        if len(calls) <= interfere:  # a concurrent writer commits after our snapshot
            with db.get_engine(other).begin() as c:
                c.execute(sa.text("UPDATE counter SET n = n + 100 WHERE id = 1"))
        conn.execute(sa.text("UPDATE counter SET n = :n WHERE id = 1"), {"n": n + 1})
        return n + 1

    return bump


def _counter(url: str) -> int:
    with db.get_engine(url).connect() as conn:
        return int(conn.execute(sa.text("SELECT n FROM counter WHERE id = 1")).scalar_one())


@pytest.mark.postgis
def test_a_serialization_failure_is_retried(
    counter_urls: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    url, other = counter_urls
    calls: list[int] = []
    with caplog.at_level(logging.INFO, logger="marsgis.db"):
        result = db.run_transaction(url, _bump(url, other, calls, interfere=2))
    # two runs aborted with 40001 (nothing of them written), the third saw both writers
    assert calls == [1, 2, 3]
    assert result == 201
    assert _counter(url) == 201  # 0 + 100 + 100 (the other writer) + 1 (ours, once)
    retries = [r for r in caplog.records if hasattr(r, "marsgis_retry")]
    assert [(r.__dict__["marsgis_retry"], r.__dict__["sqlstate"]) for r in retries] == [
        (1, "40001"),
        (2, "40001"),
    ]


@pytest.mark.postgis
def test_retries_are_bounded_and_end_in_a_concurrency_error(
    counter_urls: tuple[str, str],
) -> None:
    url, other = counter_urls
    calls: list[int] = []
    with pytest.raises(ConcurrencyError, match="3 times in a row") as info:
        db.run_transaction(url, _bump(url, other, calls, interfere=99), attempts=3)
    assert "40001" in str(info.value) and "nothing was written" in str(info.value)
    assert calls == [1, 2, 3]
    assert _counter(url) == 300  # only the other writer's updates


@pytest.mark.postgis
def test_without_run_transaction_the_conflict_is_a_concurrency_error(
    counter_urls: tuple[str, str],
) -> None:
    url, other = counter_urls
    calls: list[int] = []
    with (
        pytest.raises(ConcurrencyError, match="SQLSTATE 40001") as info,
        db.transaction(url, write=True) as conn,
    ):
        _bump(url, other, calls, interfere=1)(conn)
    assert "run_transaction" in str(info.value)
    assert _counter(url) == 100


@pytest.mark.postgis
def test_other_errors_are_not_retried(counter_urls: tuple[str, str]) -> None:
    url, _ = counter_urls
    calls: list[int] = []

    def refuse(conn: Any) -> None:
        calls.append(1)
        conn.execute(sa.text("UPDATE counter SET n = 7 WHERE id = 1"))
        raise ValidationError("refused on purpose")

    with pytest.raises(ValidationError, match="on purpose"):
        db.run_transaction(url, refuse)
    assert calls == [1]
    assert _counter(url) == 0


@pytest.mark.postgis
def test_a_joined_connection_runs_the_callback_once_in_the_outer_transaction(
    counter_urls: tuple[str, str],
) -> None:
    url, _ = counter_urls
    calls: list[int] = []

    def add(conn: Any) -> None:
        calls.append(1)
        conn.execute(sa.text("UPDATE counter SET n = n + 1 WHERE id = 1"))

    with pytest.raises(ValidationError, match="outer"), db.transaction(url, write=True) as conn:
        db.run_transaction(conn, add)
        raise ValidationError("outer block fails")
    assert calls == [1]
    assert _counter(url) == 0  # rolled back with the outer transaction


def test_attempts_must_be_positive() -> None:
    with pytest.raises(ValidationError, match="attempts 0"):
        db.run_transaction(None, lambda conn: None, attempts=0)


# ----------------------------------------------------------------------------- schema


def _geometry_columns() -> list[tuple[str, str, str]]:
    return [
        (table.name, column.name, str(column.type.geometry_type))
        for table in metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, Geometry)
    ]


def test_every_migration_compiles_for_cockroachdb() -> None:
    script = db.upgrade_sql("cockroachdb")
    created = set(re.findall(r"^CREATE TABLE (\w+) \(", script, flags=re.M))
    # every table of the schema, and Alembic's version table, stamped at the head revision
    assert created == {*metadata.tables, db.engine.VERSION_TABLE}
    assert f"SET version_num='{db.head_revision()}'" in script
    # what CockroachDB lacks is nowhere in it
    for absent in ("949900", "spatial_ref_sys", "EXCLUDE", "btree_gist", "FOR EACH STATEMENT"):
        assert absent not in script, absent
    assert "CREATE EXTENSION" not in script
    # every geometry column in SRID 0, next to a column naming its Mars CRS
    geometries = _geometry_columns()
    assert {t for t, _, _ in geometries} >= {"missions", "station_colonies"}
    for table, column, kind in geometries:
        body = script.split(f"CREATE TABLE {table} (", 1)[1].split(");", 1)[0]
        assert f"{column} geometry({kind},0)" in body, (table, column)
        assert f"{column}_crs VARCHAR(32) DEFAULT 'IAU_2015:49900' NOT NULL" in body
        assert f"CHECK ({column}_crs = 'IAU_2015:49900')" in body
    # the audit log stays append-only: the row trigger (CockroachDB 24.3+ has row triggers)
    assert "BEFORE UPDATE OR DELETE ON station_audit_log FOR EACH ROW" in script


def test_offline_scripts_are_for_cockroachdb_only() -> None:
    with pytest.raises(ValidationError, match="'cockroachdb' only"):
        db.upgrade_sql("postgresql")


@pytest.mark.postgis
def test_the_compat_flavour_builds_the_same_schema_on_postgresql(postgis_url: str) -> None:
    url = f"{postgis_url}?{COMPAT}"
    assert db.upgrade(url) == db.head_revision()
    with db.get_engine(url).connect() as conn:
        srids: dict[str, int] = dict(
            conn.execute(
                sa.text("SELECT f_table_name, srid FROM geometry_columns ORDER BY 1")
            ).all()
        )
        excluded = conn.execute(sa.text("SELECT count(*) FROM pg_constraint WHERE contype = 'x'"))
        mars = conn.execute(sa.text("SELECT count(*) FROM spatial_ref_sys WHERE srid = 949900"))
        tables = set(sa.inspect(conn).get_table_names())
        assert excluded.scalar() == 0 and mars.scalar() == 0
    assert srids == {table: 0 for table, _, _ in _geometry_columns()}
    assert tables >= set(metadata.tables)
    # down to nothing and up again, in the same flavour
    assert db.downgrade(url, revision="base") is None
    assert db.upgrade(url) == db.head_revision()
