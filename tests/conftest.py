"""Fixtures shared by the whole test suite (append yours below, in a section of your own).

Databases
---------
``db_url``
    Parametrised over ``["spatialite", "postgis"]``: the URL of a fresh, empty database (no
    marsgis schema yet) on each backend. The PostGIS one is a new database
    ``marsgis_test_<uuid hex>`` on the local PostgreSQL (127.0.0.1:5432, user postgres, trust
    auth) with the postgis extension, dropped afterwards; its tests carry the ``postgis``
    marker. PostGIS tests are never skipped: if the server is missing they fail and say how
    to start it (``scripts/setup-system.sh``).
``spatialite_url`` / ``postgis_url``
    One backend only (mark tests using ``postgis_url`` with ``@pytest.mark.postgis``).
``db_engine``
    ``marsgis.db.get_engine(db_url)``: the same databases with the schema migrated to head.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

# ----------------------------------------------------------------------------- databases

#: The local PostgreSQL server the PostGIS tests use (scripts/setup-system.sh starts it).
POSTGRES = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
_POSTGRES_HELP = (
    "PostGIS tests need PostgreSQL with PostGIS on 127.0.0.1:5432 (user postgres, trust "
    "auth); run `bash scripts/setup-system.sh` as root, which installs postgresql-15-postgis-3 "
    "and starts the cluster. PostGIS tests are never skipped"
)


def _pg_connect(dbname: str) -> Any:
    import psycopg2

    error = None
    try:
        conn = psycopg2.connect(dbname=dbname, connect_timeout=10, **POSTGRES)
    except psycopg2.OperationalError as exc:
        error = str(exc).strip()
    if error is not None:
        pytest.fail(f"{_POSTGRES_HELP}. Connecting failed: {error}", pytrace=False)
    conn.autocommit = True
    return conn


@contextmanager
def postgis_database() -> Iterator[str]:
    """Create ``marsgis_test_<uuid hex>`` with PostGIS, yield its URL, then drop it."""
    import psycopg2

    name = f"marsgis_test_{uuid.uuid4().hex}"
    admin = _pg_connect("postgres")
    try:
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        try:
            conn = _pg_connect(name)
            error = None
            try:
                with conn.cursor() as cur:
                    cur.execute("CREATE EXTENSION postgis")
            except psycopg2.Error as exc:
                error = str(exc).strip()
            finally:
                conn.close()
            if error is not None:
                pytest.fail(f"{_POSTGRES_HELP}. CREATE EXTENSION postgis failed: {error}")
            yield f"postgresql+psycopg2://{POSTGRES['user']}@{POSTGRES['host']}:{POSTGRES['port']}/{name}"
        finally:
            from marsgis.db import dispose_engines

            dispose_engines()  # close pooled connections before the drop
            with admin.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.close()


@pytest.fixture(scope="session")
def gale_landing_plan() -> Any:
    """An unsaved plan at Bradbury Landing (MSL ellipse, a short drive, risk on 2026-03-01).

    The mission the dashboard tests store and show; planned once per session (``save(db=...)``
    does not change it).
    """
    import marsgis
    from marsgis import planning

    return planning.plan_mission(
        "Gale landing",
        lat=-4.5895,
        lon=137.4417,
        dem=marsgis.open_dem("gale-mola"),
        constraints="msl",
        when="2026-03-01",
        waypoints=[(-4.7, 137.38)],
        objectives=["Reach Mount Sharp"],
    )


@pytest.fixture
def spatialite_url(tmp_path: Any) -> Iterator[str]:
    """URL of a new, empty SpatiaLite file (the schema is created on first use).

    The file exists (0 bytes, a valid empty SQLite database): marsgis refuses an explicit
    ``sqlite:///`` URL whose file is missing, outside :func:`marsgis.db.upgrade`.
    """
    path = tmp_path / "marsgis-test.sqlite"
    path.touch()
    yield f"sqlite:///{path}"
    from marsgis.db import dispose_engines

    dispose_engines()


@pytest.fixture
def postgis_url() -> Iterator[str]:
    """URL of a new PostGIS database on the local server (dropped afterwards)."""
    with postgis_database() as url:
        yield url


@pytest.fixture(
    params=["spatialite", pytest.param("postgis", marks=pytest.mark.postgis)],
)
def db_url(request: pytest.FixtureRequest) -> str:
    """URL of a fresh empty database, once on SpatiaLite and once on PostGIS."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
def db_engine(db_url: str) -> Any:
    """The engine of ``db_url`` with the marsgis schema migrated to head."""
    from marsgis.db import get_engine

    return get_engine(db_url)


# A skipped PostGIS test fails the run: CI must never pass while hiding the PostGIS half.
_SKIPPED_POSTGIS: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and "postgis" in report.keywords:
        _SKIPPED_POSTGIS.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _SKIPPED_POSTGIS:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _SKIPPED_POSTGIS:
        terminalreporter.write_line(
            f"FAILED: {len(_SKIPPED_POSTGIS)} PostGIS test(s) skipped; PostGIS tests must run "
            "(start PostgreSQL with scripts/setup-system.sh): " + ", ".join(_SKIPPED_POSTGIS[:5]),
            red=True,
        )


# ------------------------------------------------------------- a private PostgreSQL cluster


@pytest.fixture
def private_postgres() -> Iterator[Any]:
    """A started ``private_postgres.PrivatePostgres`` (a cluster of its own, on a free port, to
    stop and restart); stopped and its folder removed afterwards, whatever the test did."""
    import shutil

    from private_postgres import PrivatePostgres

    server = PrivatePostgres()
    try:
        server.start()
        yield server
    finally:
        from marsgis.db import dispose_engines

        dispose_engines()
        try:
            server.stop()
        finally:
            shutil.rmtree(server.folder, ignore_errors=True)
