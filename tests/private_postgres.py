"""A private PostgreSQL cluster for the tests that stop or restart the server, and a writer
that keeps adding missions through the outage (fixture: ``private_postgres`` in conftest.py).
"""

from __future__ import annotations

import getpass
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import threading

import psycopg2
import pytest

from marsgis import db
from marsgis.db.events import read_events
from marsgis.exceptions import DatabaseError

_HELP = (
    "the restart tests run a PostgreSQL cluster of their own with the server binaries of "
    "Debian's postgresql-15 and postgresql-15-postgis-3 packages (scripts/setup-system.sh)"
)


class PrivatePostgres:
    """A PostgreSQL cluster of its own (initdb + pg_ctl) on a free loopback port.

    For tests that stop or restart the server: the shared one on 127.0.0.1:5432 is never
    touched. The cluster runs as the ``postgres`` OS user (PostgreSQL refuses root; ``runuser``
    when the tests run as root) from a folder under the system temp dir (pytest's ``tmp_path``
    is private to root), with trust auth and fsync off. ``url`` is a database ``marsgis`` with
    the postgis extension (the extension files are installed system-wide).
    """

    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not found:
            pytest.fail(f"{_HELP}. No /usr/lib/postgresql/*/bin/pg_ctl found")
        self.bin = found[-1].rsplit("/", 1)[0]
        self.as_user = ["runuser", "-u", "postgres", "--"] if getpass.getuser() == "root" else []
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.folder = tempfile.mkdtemp(prefix="marsgis-pg-")
        self.data = f"{self.folder}/data"
        self.log = f"{self.folder}/server.log"
        self.running = False

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/marsgis"

    def _run(self, *args: str, timeout: float = 120) -> None:
        done = subprocess.run(
            [*self.as_user, *args], capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            pytest.fail(
                f"{' '.join(args)} failed ({done.returncode}): {done.stderr or done.stdout}\n"
                f"server log:\n{self.server_log()}"
            )

    def server_log(self) -> str:
        try:
            with open(self.log) as f:
                return f.read()[-4000:]
        except OSError:
            return "(none)"

    def _pg_ctl(self, *args: str) -> None:
        self._run(f"{self.bin}/pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "60", *args)

    def start(self) -> None:
        if self.as_user:
            shutil.chown(self.folder, "postgres", "postgres")
            os.chmod(self.folder, 0o700)
        if not os.path.isdir(self.data):
            self._run(
                f"{self.bin}/initdb", "-D", self.data, "-U", "postgres", "--auth=trust",
                "--no-sync", "-E", "UTF8",
            )  # fmt: skip
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        self._pg_ctl("-o", options, "start")
        self.running = True
        conn = psycopg2.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres"
        )
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = 'marsgis'")
            if cur.fetchone() is None:
                cur.execute("CREATE DATABASE marsgis")
        conn.close()
        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="marsgis")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        conn.close()

    def restart(self) -> None:
        """``pg_ctl restart -m fast``: every connection is cut; back when it accepts again."""
        self._pg_ctl("-m", "fast", "restart")

    def stop(self, mode: str = "immediate") -> None:
        """``pg_ctl stop -m MODE`` (``fast``: connections cut, a clean shutdown)."""
        if self.running:
            self._pg_ctl("-m", mode, "stop")
            self.running = False


class MissionWriter(threading.Thread):
    """Adds ``count`` missions one by one, retrying each until the database acknowledges it.

    A write cut by an outage raises DatabaseError and is tried again (``pool_pre_ping``
    replaces the dead pooled connections). ``acknowledged``: the ids of the missions the
    database confirmed; ``retries``: writes tried again. After a third of the missions the
    writer sets ``paused`` and waits for ``resume`` (the test stops the server meanwhile).
    """

    def __init__(self, url: str, count: int, *, wait_s: float = 60.0) -> None:
        super().__init__(daemon=True)
        self.url, self.count, self.wait_s = url, count, wait_s
        self.acknowledged: list[str] = []
        self.retries = 0
        self.paused = threading.Event()
        self.resume = threading.Event()
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            for i in range(self.count):
                if i == self.count // 3:
                    self.paused.set()
                    self.resume.wait(self.wait_s)
                for _ in range(int(self.wait_s / 0.1)):
                    try:
                        m = db.add_mission(f"R{i}", lat=i % 80, lon=i, db=self.url)
                        break
                    except DatabaseError:
                        self.retries += 1
                        threading.Event().wait(0.1)
                else:
                    raise AssertionError(f"mission R{i} could not be written in {self.wait_s} s")
                self.acknowledged.append(m.id)
        except BaseException as error:  # reported by the test
            self.failure = error


def log_of_the_missions(url: str, start: int, acknowledged: list[str]) -> list[int]:
    """Every stored mission has its one creation event after ``start`` and every acknowledged
    write is stored; returns the log's ids after ``start``."""
    log = read_events(start, limit=10_000, db=url)
    created = [e.subject for e in log if e.type == "mission.created"]
    assert [e.type for e in log] == ["mission.created"] * len(log)
    assert sorted(created) == sorted(m.id for m in db.list_missions(db=url) if m.name[0] == "R")
    assert set(acknowledged) <= set(created)
    return [e.id for e in log]
