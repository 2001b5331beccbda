"""`marsgis mission ...` and `marsgis db ...` round trips with --json, on both backends."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from marsgis import db
from marsgis.cli import main


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("MARSGIS_DATABASE_URL", db_url)
    runner = CliRunner()

    def run(*args: str, ok: bool = True) -> Result:
        result = runner.invoke(main, list(args))
        if ok:
            assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
        return result

    return run


def _json(result: Result) -> Any:
    return json.loads(result.stdout)


def test_db_upgrade_and_current(cli: Any, db_url: str) -> None:
    before = _json(cli("db", "current", "--json"))
    assert before["revision"] is None
    assert before["up_to_date"] is False
    assert before["head"] == db.head_revision()
    up = _json(cli("db", "upgrade", "--revision", "0001", "--json"))
    assert up["revision"] == "0001"
    up = _json(cli("db", "upgrade", "--json"))
    assert up == {
        "url": db.engine.redact_url(db_url),
        "revision": db.head_revision(),
        "head": db.head_revision(),
    }
    after = _json(cli("db", "current", "--json"))
    assert (after["revision"], after["up_to_date"]) == (db.head_revision(), True)
    assert db.current_revision(db_url) == db.head_revision()


def test_mission_cli_round_trip(cli: Any, db_url: str) -> None:
    created = _json(
        cli(
            "mission", "create", "--name", "Gale", "--lat", "-4.5895", "--lon", "137.4417",
            "--type", "landing", "--description", "MSL", "--objective", "Mount Sharp",
            "--json",
        )
    )  # fmt: skip
    mission_id = created["id"]
    assert (created["lat"], created["lon"], created["version"]) == (-4.5895, 137.4417, 1)
    assert created["objectives"] == ["Mount Sharp"]
    stored = db.get_mission(mission_id, db=db_url)
    assert created == stored.to_dict()

    cli("mission", "create", "--name", "Orbit", "--lat", "0", "--lon", "222.5",
        "--type", "orbital", "--json")  # fmt: skip
    listed = _json(cli("mission", "list", "--json"))
    assert [m["name"] for m in listed] == ["Gale", "Orbit"]
    assert listed[1]["lon"] == -137.5
    orbital = _json(cli("mission", "list", "--type", "orbital", "--json"))
    assert [m["name"] for m in orbital] == ["Orbit"]

    updated = _json(
        cli("mission", "update", mission_id, "--expected-version", "1",
            "--name", "Gale crater", "--safety-score", "0.8", "--json")
    )  # fmt: skip
    assert (updated["name"], updated["safety_score"], updated["version"]) == (
        "Gale crater",
        0.8,
        2,
    )
    stale = cli("mission", "update", mission_id, "--expected-version", "1", "--name", "x",
                "--json", ok=False)  # fmt: skip
    assert stale.exit_code == 2
    assert stale.stderr.startswith("error: ")
    message = stale.stderr.removeprefix("error: ").strip()  # --json: also one JSON document
    assert json.loads(stale.stdout) == {"error": {"type": "ConcurrencyError", "message": message}}
    assert "is at version 2, you edited version 1" in stale.stderr
    assert "Traceback" not in stale.output

    active = _json(
        cli("mission", "status", mission_id, "active", "--expected-version", "2",
            "--note", "go for landing", "--json")
    )  # fmt: skip
    assert (active["status"], active["version"]) == ("active", 3)
    refused = cli("mission", "status", mission_id, "planned", "--expected-version", "3",
                  ok=False)  # fmt: skip
    assert refused.exit_code == 2
    assert "may go to: 'completed', 'aborted'" in refused.stderr

    shown = _json(cli("mission", "show", mission_id, "--json"))
    assert shown["name"] == "Gale crater"
    assert [(h["from_status"], h["to_status"], h["note"]) for h in shown["history"]] == [
        (None, "planned", "created"),
        ("planned", "active", "go for landing"),
    ]
    text = cli("mission", "show", mission_id).stdout
    assert "planned -> active  (go for landing)" in text

    deleted = _json(cli("mission", "delete", mission_id, "--json"))
    assert deleted == {"deleted": mission_id}
    missing = cli("mission", "show", mission_id, "--json", ok=False)
    assert missing.exit_code == 2
    assert f"no mission with id {mission_id!r}" in missing.stderr
    assert [m.name for m in db.list_missions(db=db_url)] == ["Orbit"]


def test_mission_cli_reports_bad_input(
    spatialite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MARSGIS_DATABASE_URL", spatialite_url)
    runner = CliRunner()
    result = runner.invoke(
        main, ["mission", "create", "--name", "x", "--lat", "95", "--lon", "0", "--json"]
    )
    assert result.exit_code == 2
    assert "latitude 95.0 is outside [-90, 90]" in result.stderr
    result = runner.invoke(
        main, ["mission", "create", "--name", "x", "--lat", "0", "--lon", "0", "--type", "rover"]
    )
    assert result.exit_code == 2
    assert "unknown mission type 'rover'" in result.stderr
    assert db.list_missions(db=spatialite_url) == []


def test_cli_unreachable_database_hides_password(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "postgresql+psycopg2://u:secret@127.0.0.1:1/x"
    runner = CliRunner()
    result = runner.invoke(main, ["db", "upgrade", "--url", url, "--json"])
    assert result.exit_code == 2
    assert "secret" not in result.output
    assert "error: cannot connect to the database 'postgresql+psycopg2://u:***@127.0.0.1:1/x'" in (
        result.stderr
    )
    monkeypatch.setenv("MARSGIS_DATABASE_URL", url)
    result = runner.invoke(main, ["mission", "list", "--json"])
    assert result.exit_code == 2
    assert "secret" not in result.output
    assert "u:***@127.0.0.1:1/x" in result.stderr


def test_cli_refuses_a_missing_sqlite_store_and_db_upgrade_creates_it(tmp_path: Path) -> None:
    path = tmp_path / "typo-dir" / "store.sqlite"
    env = {"MARSGIS_DATABASE_URL": f"sqlite:///{path}"}
    runner = CliRunner()
    listed = runner.invoke(main, ["mission", "list", "--json"], env=env)
    assert listed.exit_code == 2, listed.output
    assert "does not exist" in listed.output and "marsgis db upgrade" in listed.output
    assert not path.parent.exists()
    upgraded = runner.invoke(main, ["db", "upgrade", "--json"], env=env)
    assert upgraded.exit_code == 0, upgraded.output
    assert path.is_file()
    listed = runner.invoke(main, ["mission", "list", "--json"], env=env)
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout) == []
    db.dispose_engines()
