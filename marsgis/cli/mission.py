"""``marsgis mission``: create, list, show, update, delete missions and change their status.

The database is ``MARSGIS_DATABASE_URL`` (the SpatiaLite file in the data dir by default).
Longitudes may be given in 0–360 or −180–180 °E; they are shown in −180–180 °E.

Examples
--------
::

    marsgis mission create --name "Gale landing" --lat -4.5895 --lon 137.4417 --json
    marsgis mission update ID --expected-version 1 --safety-score 0.8
    marsgis mission status ID active --expected-version 2 --note "go"
"""

from __future__ import annotations

from typing import Any

import click

from marsgis.cli._common import emit, handle_errors, json_option

__all__ = ["command"]

# For the help texts only (marsgis.db validates; importing it here would slow `marsgis --help`).
_TYPES = "landing, traverse, orbital, sample_return, survey, other"
_STATUSES = "planned, active, completed, aborted"


def _line(mission: dict[str, Any]) -> str:
    return (
        f"{mission['id']}  v{mission['version']}  {mission['status']:<9}  "
        f"{mission['mission_type']:<13}  {mission['lat']:9.4f} {mission['lon']:10.4f}  "
        f"{mission['name']}"
    )


def _list_text(missions: list[dict[str, Any]]) -> str:
    return "\n".join(_line(m) for m in missions) if missions else "no missions"


def _show_text(mission: dict[str, Any]) -> str:
    lines = [f"{key}: {value}" for key, value in mission.items() if key != "history"]
    lines.append("history:")
    lines += [
        f"  {h['changed_at']}  {h['from_status'] or '-'} -> {h['to_status']}"
        + (f"  ({h['note']})" if h["note"] else "")
        + (f"  by {h['changed_by']}" if h["changed_by"] else "")
        for h in mission["history"]
    ]
    return "\n".join(lines)


@click.group("mission")
def command() -> None:
    """Store and manage missions (MARSGIS_DATABASE_URL, SpatiaLite file by default)."""


@command.command("create")
@click.option("--name", required=True, help="Mission name.")
@click.option("--lat", type=float, required=True, help="Target latitude, degrees north.")
@click.option("--lon", type=float, required=True, help="Target longitude, degrees east.")
@click.option(
    "--type", "mission_type", default="landing", show_default=True, help=f"Mission type: {_TYPES}."
)
@click.option("--description", default="", help="Free text.")
@click.option("--objective", "objectives", multiple=True, help="An objective (repeatable).")
@click.option("--safety-score", type=float, default=None, help="Safety score in [0, 1].")
@click.option(
    "--scientific-priority", type=float, default=None, help="Scientific priority in [0, 1]."
)
@json_option
@handle_errors
def create(
    *,
    name: str,
    lat: float,
    lon: float,
    mission_type: str,
    description: str,
    objectives: tuple[str, ...],
    safety_score: float | None,
    scientific_priority: float | None,
    as_json: bool,
) -> None:
    """Create a mission at LAT/LON (status planned, version 1)."""
    from marsgis.db import add_mission

    mission = add_mission(
        name,
        lat=lat,
        lon=lon,
        mission_type=mission_type,
        description=description,
        objectives=objectives,
        safety_score=safety_score,
        scientific_priority=scientific_priority,
    )
    emit(mission.to_dict(), as_json)


@command.command("list")
@click.option("--status", default=None, help=f"Only missions in this status: {_STATUSES}.")
@click.option("--type", "mission_type", default=None, help=f"Only this mission type: {_TYPES}.")
@json_option
@handle_errors
def list_(status: str | None, mission_type: str | None, as_json: bool) -> None:
    """List missions, oldest first."""
    from marsgis.db import list_missions

    missions = [m.to_dict() for m in list_missions(status=status, mission_type=mission_type)]
    emit(missions, as_json, _list_text)


@command.command("show")
@click.argument("mission_id")
@json_option
@handle_errors
def show(mission_id: str, as_json: bool) -> None:
    """Show one mission and its status history."""
    from marsgis.db import get_mission, status_history

    result = get_mission(mission_id).to_dict()
    result["history"] = [change.to_dict() for change in status_history(mission_id)]
    emit(result, as_json, _show_text)


@command.command("update")
@click.argument("mission_id")
@click.option(
    "--expected-version",
    type=int,
    required=True,
    help="The version you are editing (from `show`); a stale one is refused.",
)
@click.option("--name", default=None, help="New name.")
@click.option("--description", default=None, help="New description.")
@click.option("--type", "mission_type", default=None, help=f"New mission type: {_TYPES}.")
@click.option("--safety-score", type=float, default=None, help="New safety score in [0, 1].")
@click.option(
    "--scientific-priority", type=float, default=None, help="New scientific priority in [0, 1]."
)
@click.option("--lat", type=float, default=None, help="New target latitude (with --lon).")
@click.option("--lon", type=float, default=None, help="New target longitude (with --lat).")
@json_option
@handle_errors
def update(
    *,
    mission_id: str,
    expected_version: int,
    name: str | None,
    description: str | None,
    mission_type: str | None,
    safety_score: float | None,
    scientific_priority: float | None,
    lat: float | None,
    lon: float | None,
    as_json: bool,
) -> None:
    """Change fields of a mission still at --expected-version."""
    from marsgis.db import update_mission

    options = {
        "name": name,
        "description": description,
        "mission_type": mission_type,
        "safety_score": safety_score,
        "scientific_priority": scientific_priority,
        "lat": lat,
        "lon": lon,
    }
    changes: dict[str, Any] = {key: value for key, value in options.items() if value is not None}
    mission = update_mission(mission_id, expected_version=expected_version, **changes)
    emit(mission.to_dict(), as_json)


@command.command("delete")
@click.argument("mission_id")
@json_option
@handle_errors
def delete(mission_id: str, as_json: bool) -> None:
    """Delete a mission and its history."""
    from marsgis.db import delete_mission

    delete_mission(mission_id)
    emit({"deleted": mission_id}, as_json, lambda r: f"deleted {r['deleted']}")


@command.command("status")
@click.argument("mission_id")
@click.argument("new_status")
@click.option("--expected-version", type=int, required=True, help="The version you are changing.")
@click.option("--note", default=None, help="Why (stored in the history).")
@click.option("--changed-by", default=None, help="Who (stored in the history).")
@json_option
@handle_errors
def status(
    *,
    mission_id: str,
    new_status: str,
    expected_version: int,
    note: str | None,
    changed_by: str | None,
    as_json: bool,
) -> None:
    """Move a mission to NEW_STATUS (planned→active|aborted, active→completed|aborted)."""
    from marsgis.db import set_status

    mission = set_status(
        mission_id,
        new_status,
        expected_version=expected_version,
        note=note,
        changed_by=changed_by,
    )
    emit(mission.to_dict(), as_json)


from marsgis.cli.sites import mission_plan  # noqa: E402

command.add_command(mission_plan, name="plan")
