"""``marsgis station``: the station's audit log and its seeded demo data.

``marsgis station audit verify`` re-computes the audit log's hash chain: exit status 0 and
``intact, N records``, or 1 naming the first broken record. ``marsgis station seed`` builds the
documented, seeded demo station (:mod:`marsgis.station.seed`).
"""

from __future__ import annotations

import sys

import click

from marsgis.cli._common import emit, handle_errors, json_option

__all__ = ["command"]

_URL_HELP = "Database URL (default: MARSGIS_DATABASE_URL, else the SpatiaLite file)."


@click.group("station")
def command() -> None:
    """The station: immigration records, docking bays and colonies."""


@command.group("audit")
def audit() -> None:
    """The hash-chained audit log of station decisions."""


@audit.command("verify")
@click.option("--url", default=None, help=_URL_HELP)
@json_option
@handle_errors
def verify(url: str | None, as_json: bool) -> None:
    """Re-compute the audit chain; exit 1 naming the first broken record."""
    from marsgis.db.station import verify_audit

    result = verify_audit(db=url)
    if result.intact:
        emit(result.to_dict(), as_json, lambda r: f"intact, {r['records']} records")
        return
    message = (
        f"audit log broken at record {result.broken_id}: {result.problem} "
        f"({result.records} records verify before it)"
    )
    emit(result.to_dict(), as_json, lambda r: message)
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


@command.command("seed")
@click.option("--url", default=None, help=_URL_HELP)
@click.option("--seed", "seed", default=2031, show_default=True, help="Random seed.")
@click.option(
    "--passengers",
    default=3000,
    show_default=True,
    type=click.IntRange(0, 100_000),
    help="Passengers to generate.",
)
@json_option
@handle_errors
def seed(url: str | None, seed: int, passengers: int, as_json: bool) -> None:
    """Build the seeded demo station (deterministic for a seed).

    Colonies at Jezero, Gale and Arcadia Planitia, bays, voyages, passengers with valid MRZs,
    visas and admissions; see marsgis.station.seed.
    """
    from marsgis.db.station.seed import store_station
    from marsgis.station.seed import generate_station

    plan = generate_station(seed=seed, passengers=passengers)
    summary = store_station(plan, db=url)
    emit(
        summary,
        as_json,
        lambda r: (
            "seeded station: " + ", ".join(f"{k} {v}" for k, v in r.items() if isinstance(v, int))
        ),
    )
