"""The one error path of the CLI: every command, given a bad argument, fails cleanly.

The commands are enumerated from the click registry (``marsgis.cli._COMMANDS``, through the
root group's ``list_commands``/``get_command``), so a new command is part of these tests as
soon as it is registered: it needs a bad-argument case in ``BAD`` (a test fails until it has
one), and it gets the unknown-option and missing-argument checks automatically.

For each: exit status 2 (bad input), ``error: <message>`` on stderr (``Usage: ...`` then
``Error: <message>`` for click's own usage errors), no traceback anywhere, and with ``--json``
exactly one JSON document on stdout, ``{"error": {"type": <class>, "message": <message>}}``.
Most run in-process (click's CliRunner); a few run the installed ``marsgis`` entry point.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from marsgis import exceptions
from marsgis.cli import main
from marsgis.cli._common import handle_errors, json_option
from marsgis.config import settings
from marsgis.exceptions import ConfigurationError

CLI = [str(Path(sys.executable).parent / "marsgis")]

#: A well-formed mission id that is in no store.
NO_MISSION = "1b4e28ba-2fa1-41d2-883f-0016d3cca427"

#: command path -> (a bad invocation, the error type it must give). ``{tmp}`` is a fresh
#: folder, ``{text}`` a text file named ``.jpg``, ``{file}`` a plain file.
BAD: dict[str, tuple[list[str], str]] = {
    "catalog cache": (["--bbox", "abc"], "CoordinateError"),
    "catalog collections": (["--url", "http://127.0.0.1:1/"], "RemoteCatalogError"),
    "catalog fetch": (["{tmp}/no-such-item.json"], "DataNotFoundError"),
    "catalog list": (["unexpected"], "UsageError"),
    "catalog search": (["--bbox", "1,2,3"], "CoordinateError"),
    "db current": (["--url", "mysql://u@host/db"], "ValidationError"),
    "db upgrade": (["--url", "mysql://u@host/db"], "ValidationError"),
    "dem info": (["olympus"], "DataNotFoundError"),
    "dem list": (["unexpected"], "UsageError"),
    "demo": (["--out", "{file}/demo"], "OutputError"),
    "mission create": (["--name", "x", "--lat", "999", "--lon", "0"], "CoordinateError"),
    "mission delete": (["not-an-id"], "ValidationError"),
    "mission list": (["--status", "lost"], "ValidationError"),
    "mission plan": (["--name", "x", "--lat", "999", "--lon", "0", "--no-save"], "CoordinateError"),
    "mission show": ([NO_MISSION], "NotFoundError"),
    "mission status": ([NO_MISSION, "active", "--expected-version", "1"], "NotFoundError"),
    "mission update": ([NO_MISSION, "--expected-version", "1", "--name", "x"], "NotFoundError"),
    "ml classify": (["{text}"], "DataReadError"),
    "ml evaluate": (["--model", "no-such-model"], "DataNotFoundError"),
    "ml models": (["unexpected"], "UsageError"),
    "ml train": (["--data", "{tmp}/no-such-folder", "--out", "{tmp}/run"], "DataNotFoundError"),
    "report list": (["unexpected"], "UsageError"),
    "report run": (["no-such-report"], "DataNotFoundError"),
    "report runs": (["--limit", "-1"], "ValidationError"),
    "report schedule add": (["s", "mission-plan", "--cron", "nope"], ""),
    "report schedule list": (["unexpected"], "UsageError"),
    "report schedule remove": (["no-such-schedule"], "NotFoundError"),
    "report show": (["999"], "NotFoundError"),
    "sample": (["mola", "--lat", "999", "--lon", "0"], "CoordinateError"),
    "scheduler": (["--once", "--interval", "0"], "ValidationError"),
    "serve": (["--url", "mysql://u@host/db"], "ValidationError"),
    "sites check": (["--preset", "viking", "--lat", "0", "--lon", "0"], "ValidationError"),
    "sites map": (["--preset", "viking", "--dem", "mola", "-o", "{tmp}/m.tif"], "ValidationError"),
    "sites search": (["--preset", "msl", "--bbox", "x"], "CoordinateError"),
    "station audit verify": (["--url", "mysql://u@host/db"], "ValidationError"),
    "station seed": (["--passengers", "-1"], "BadParameter"),
    "terrain aspect": (["olympus", "-o", "{tmp}/a.tif"], "DataNotFoundError"),
    "terrain hillshade": (["olympus", "-o", "{tmp}/h.tif"], "DataNotFoundError"),
    "terrain roughness": (["olympus", "-o", "{tmp}/r.tif"], "DataNotFoundError"),
    "terrain slope": (["olympus", "-o", "{tmp}/s.tif"], "DataNotFoundError"),
    "token create": (["--user", "ada", "--role", "pilot"], "ValidationError"),
    "token list": (["--url", "mysql://u@host/db"], "ValidationError"),
    "token revoke": (["no-such-token"], "NotFoundError"),
    "traverse": (["--dem", "gale-mola", "--from", "999,0", "--to", "0,0"], "CoordinateError"),
}
# "" above: any marsgis error (the order of the schedule checks is the reports' to choose)

MARSGIS_ERRORS = set(exceptions.__all__)
#: click's own usage errors (printed by click after its usage line).
USAGE_ERRORS = {"UsageError", "NoSuchOption", "NoSuchCommand", "MissingParameter", "BadParameter"}


def _walk(group: click.Group, ctx: click.Context, prefix: tuple[str, ...]) -> Iterator[Any]:
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        path = (*prefix, name)
        if isinstance(command, click.Group):
            yield from _walk(command, click.Context(command, parent=ctx, info_name=name), path)
        else:
            yield " ".join(path), command


def leaf_commands() -> dict[str, click.Command]:
    """Every runnable command of ``marsgis``, by its space-separated path."""
    assert isinstance(main, click.Group)
    return dict(_walk(main, click.Context(main, info_name="marsgis"), ()))


COMMANDS = leaf_commands()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A fresh data dir and store; the placeholders of ``BAD``."""
    monkeypatch.setenv("MARSGIS_DATA_DIR", str(tmp_path / "user-data"))
    monkeypatch.setenv("MARSGIS_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.delenv("MARSGIS_DATABASE_URL", raising=False)
    text = tmp_path / "notanimage.jpg"
    text.write_text("not a JPEG\n", encoding="utf-8")
    plain = tmp_path / "plain"
    plain.write_text("x", encoding="utf-8")
    return {"tmp": str(tmp_path), "text": str(text), "file": str(plain)}


def invoke(args: list[str]) -> Result:
    result = CliRunner().invoke(main, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result


def check_failure(result: Result, as_json: bool, expected_type: str) -> dict[str, str]:
    """Assert the clean error path; return the JSON error (or the one parsed from stderr)."""
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    if expected_type in USAGE_ERRORS:
        assert result.stderr.startswith("Usage: "), result.stderr
        message = result.stderr.split("Error: ", 1)[1].strip()
    else:
        assert result.stderr.startswith("error: "), result.stderr
        message = result.stderr.removeprefix("error: ").strip()
    if not as_json:
        assert result.stdout == ""
        return {"type": expected_type, "message": message}
    doc = json.loads(result.stdout)
    assert set(doc) == {"error"} and set(doc["error"]) == {"type", "message"}
    error: dict[str, str] = doc["error"]
    assert error["message"].strip() == message
    if expected_type:
        assert error["type"] == expected_type
    else:
        assert error["type"] in MARSGIS_ERRORS
    return error


def test_every_command_has_a_bad_argument_case() -> None:
    assert set(COMMANDS) == set(BAD), "add a bad invocation of each new command to BAD"
    assert len(COMMANDS) >= 38  # the registry really was walked (groups and sub-groups)


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_bad_argument_is_a_clean_error(path: str, env: dict[str, str]) -> None:
    args, expected_type = BAD[path]
    argv = [*path.split(), *(a.format(**env) for a in args)]
    text = check_failure(invoke(argv), False, expected_type)
    error = check_failure(invoke([*argv, "--json"]), True, expected_type)
    assert error["message"].strip() == text["message"]
    if expected_type not in USAGE_ERRORS | {""}:
        assert issubclass(getattr(exceptions, error["type"]), exceptions.MarsGISError)


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_unknown_option_is_a_json_usage_error(path: str) -> None:
    result = invoke([*path.split(), "--no-such-option", "--json"])
    error = check_failure(result, True, "NoSuchOption")
    assert error["message"].startswith("No such option '--no-such-option'.")  # + "Did you mean"


@pytest.mark.parametrize(
    "path",
    sorted(path for path, cmd in COMMANDS.items() if any(p.required for p in cmd.params)),
)
def test_missing_required_argument_is_a_json_usage_error(path: str) -> None:
    required = [p for p in COMMANDS[path].params if p.required]
    error = check_failure(invoke([*path.split(), "--json"]), True, "MissingParameter")
    first = required[0]
    name = first.opts[0] if isinstance(first, click.Option) else first.human_readable_name
    assert name in error["message"] and error["message"].startswith("Missing ")


def test_unknown_command_and_root_option() -> None:
    error = check_failure(invoke(["olympus", "--json"]), True, "NoSuchCommand")
    assert error == {"type": "NoSuchCommand", "message": "No such command 'olympus'."}
    error = check_failure(invoke(["--no-such-option", "--json"]), True, "NoSuchOption")
    assert error == {"type": "NoSuchOption", "message": "No such option '--no-such-option'."}
    after_end = invoke(["dem", "info", "--", "--json"])  # "--json" after "--" is an argument
    assert after_end.stdout == "" and after_end.exit_code == 2


def test_help_and_version_still_work() -> None:
    assert invoke(["--help"]).exit_code == 0
    assert invoke(["sample", "--help", "--json"]).exit_code == 0
    assert "dem [OPTIONS] COMMAND" in invoke(["dem", "--help"]).stdout
    version = importlib.metadata.version("marsgis")
    assert invoke(["--version"]).stdout.endswith(f", version {version}\n")


# ------------------------------------------------------------------ internal errors


@click.command("boom")
@click.argument("divisor", type=int)
@json_option
@handle_errors
def _boom(divisor: int, as_json: bool) -> None:
    click.echo(str(1 // divisor))


@click.command("bare")
@click.argument("divisor", type=int)
@json_option
def _bare(divisor: int, as_json: bool) -> None:
    click.echo(str(1 // divisor))


@pytest.mark.parametrize("command", [_boom, _bare], ids=["handle_errors", "no-decorator"])
def test_internal_error_is_reported_without_traceback(command: click.Command) -> None:
    """A non-marsgis exception is a bug: exit 1 and a message asking for a report."""
    group = type(main)(name="marsgis-test")  # the root group's class: its safety net
    group.add_command(command)
    ok = CliRunner().invoke(group, [command.name or "", "1"])
    assert (ok.exit_code, ok.stdout) == (0, "1\n")
    for args in ([], ["--json"]):
        result = CliRunner().invoke(group, [command.name or "", "0", *args])
        assert result.exit_code == 1, result.exc_info
        assert "Traceback" not in result.stdout + result.stderr
        expected = "internal error (ZeroDivisionError: integer division or modulo by zero); "
        assert result.stderr == f"error: {expected}please report it\n"
        if args:
            assert json.loads(result.stdout) == {
                "error": {"type": "ZeroDivisionError", "message": f"{expected}please report it"}
            }
        else:
            assert result.stdout == ""


# ------------------------------------------------------------------ the installed entry point


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The real ``marsgis`` in a subprocess, with its own empty data dir (never the user's)."""
    import tempfile

    base = {k: v for k, v in os.environ.items() if k != "MARSGIS_DATABASE_URL"}
    scratch = tempfile.mkdtemp(prefix="marsgis-cli-")
    base.update(MARSGIS_DATA_DIR=f"{scratch}/data", MARSGIS_CACHE_DIR=f"{scratch}/cache")
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**base, **env},
    )


def test_bad_setting_entry_point(tmp_path: Path) -> None:
    """``MARSGIS_CACHE_TTL_DAYS=abc marsgis mission list``: the variable and what it accepts."""
    out = _run("mission", "list", "--json", MARSGIS_CACHE_TTL_DAYS="abc",
               MARSGIS_DATA_DIR=str(tmp_path))  # fmt: skip
    assert out.returncode == 2 and "Traceback" not in out.stderr
    message = (
        "MARSGIS_CACHE_TTL_DAYS='abc' is not valid: expected a number of days >= 0, e.g. 30 "
        "(unset it for the default, 30)"
    )
    assert json.loads(out.stdout) == {"error": {"type": "ConfigurationError", "message": message}}
    assert out.stderr == f"error: {message}\n"


def test_text_file_named_jpg_entry_point(tmp_path: Path) -> None:
    text = tmp_path / "notanimage.jpg"
    text.write_text("hello\n", encoding="utf-8")
    out = _run("ml", "classify", str(text), "--json")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    error = json.loads(out.stdout)["error"]
    assert error["type"] == "DataReadError"
    assert error["message"].startswith(f"image {str(text)!r} cannot be read")
    assert out.stderr == f"error: {error['message']}\n"


def test_usage_error_entry_point() -> None:
    out = _run("sample", "mola", "--lat", "north", "--lon", "0", "--json")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert json.loads(out.stdout) == {
        "error": {
            "type": "BadParameter",
            "message": "Invalid value for '--lat': 'north' is not a valid float.",
        }
    }
    assert out.stderr.startswith("Usage: marsgis sample [OPTIONS] SOURCE")


# ------------------------------------------------------------------ settings


@pytest.mark.parametrize(
    ("variable", "value", "accepted"),
    [
        ("MARSGIS_CACHE_TTL_DAYS", "abc", "a number of days >= 0"),
        ("MARSGIS_CACHE_TTL_DAYS", "-1", "a number of days >= 0"),
        ("MARSGIS_CACHE_TTL_DAYS", "nan", "a number of days >= 0"),
        ("MARSGIS_GPU", "maybe", "one of 1, true, yes, on or 0, false, no, off"),
        ("MARSGIS_GATEWAY_AUTH", "kerberoz", "one of jupyterhub, basic, kerberos"),
    ],
)
def test_bad_settings_name_variable_and_accepted_values(
    variable: str, value: str, accepted: str
) -> None:
    with pytest.raises(ConfigurationError) as info:
        settings({variable: value})
    assert str(info.value).startswith(f"{variable}={value!r} is not valid: expected {accepted}")
    assert isinstance(info.value, exceptions.InvalidOptionError)


def test_good_settings_parse() -> None:
    assert settings({}).cache_ttl_days == 30.0
    assert settings({"MARSGIS_CACHE_TTL_DAYS": ""}).cache_ttl_days == 30.0  # empty = unset
    assert settings({"MARSGIS_CACHE_TTL_DAYS": "0.5"}).cache_ttl_days == 0.5
    assert settings({"MARSGIS_CACHE_TTL_DAYS": "0"}).cache_ttl_days == 0.0
    gpu = {v: settings({"MARSGIS_GPU": v}).gpu for v in ("1", "TRUE", "yes", "On", "0", "off")}
    assert gpu == {"1": True, "TRUE": True, "yes": True, "On": True, "0": False, "off": False}
    assert settings({}).gpu is False
    for auth in ("jupyterhub", "basic", "kerberos", "mypackage.auth.TokenAuth"):
        assert settings({"MARSGIS_GATEWAY_AUTH": auth}).gateway_auth == auth
