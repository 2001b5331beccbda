"""marsgis.progress: real long calls draw a bar on stderr that reaches 100 %, only when asked.

The ``progress`` option is ``"auto"`` by default: a bar only when stderr is a terminal, so
under pytest's capture (not a TTY) nothing is printed. With ``progress=True`` the bar goes to
the captured stderr; its last state is ``100%`` with the number of steps the call made, which
the tests recompute independently.
"""

from __future__ import annotations

import math
import re

import pytest
from click.testing import CliRunner

import marsgis
from marsgis import planning
from marsgis.cli import main
from marsgis.crs import MARS_RADIUS_M
from marsgis.exceptions import InvalidOptionError

GALE = (-4.5895, 137.4417)
GOAL = (-4.8214, 137.3858)


def _final(err: str, desc: str) -> str:
    """The last state of the bar named ``desc`` (tqdm redraws with carriage returns)."""
    states = [s.strip() for s in re.split(r"[\r\n]", err) if s.strip().startswith(desc)]
    assert states, f"no {desc!r} bar in {err!r}"
    return states[-1]


def test_landing_site_search_reaches_100_percent(capsys: pytest.CaptureFixture[str]) -> None:
    dem = marsgis.open_dem("gale-mola")
    bbox = (137.0, -5.2, 137.8, -4.4)
    with marsgis.set_options(progress=True):
        sites = planning.search_landing_sites(dem, "msl", bbox=bbox, top=2)
    final = _final(capsys.readouterr().err, "landing-site candidates")
    # candidates: centres every semi-minor axis (msl: a 25 × 20 km ellipse → 10 km) over the box
    assert planning.get_preset("msl").ellipse_km == (25.0, 20.0)
    dlat = math.degrees(10e3 / MARS_RADIUS_M)
    rows = [-5.2 + dlat / 2 + k * dlat for k in range(math.ceil((0.8 - dlat / 2) / dlat))]
    expected = 0
    for lat in rows:
        dlon = dlat / math.cos(math.radians(lat))
        expected += math.ceil((0.8 - dlon / 2) / dlon)
    assert expected == 25
    assert re.search(rf"100%.*\b{expected}/{expected}\b", final), final
    assert sites.attrs["candidates"] <= expected  # only those wholly on the DEM are scored


def test_eligibility_map_counts_every_constraint(capsys: pytest.CaptureFixture[str]) -> None:
    with marsgis.set_options(progress=True):
        emap = planning.eligibility_map(marsgis.open_dem("mola"), "mer-a")
    final = _final(capsys.readouterr().err, "eligibility (mer-a)")
    n = len(planning.get_preset("mer-a").keys)
    assert n == len(emap.attrs["evaluated"]) + len(emap.attrs["not_evaluated"]) == 6
    assert re.search(rf"100%.*\b{n}/{n}\b", final), final


def test_traverse_legs_and_coarse_to_fine_windows(capsys: pytest.CaptureFixture[str]) -> None:
    dem = marsgis.open_dem("gale-mola")
    with marsgis.set_options(progress=True):
        route = planning.plan_traverse(dem, GALE, GOAL, via=[(-4.7, 137.42)])
    assert re.search(r"100%.*\b2/2\b", _final(capsys.readouterr().err, "traverse legs"))
    assert len(route) == 2
    with marsgis.set_options(progress=True):
        coarse = planning.plan_traverse(
            dem, GALE, (-5.0, 137.8), max_cells=64 * 64, segment_cells=32, margin_cells=16
        )
    assert coarse.attrs["method"] == "coarse-to-fine"
    final = _final(capsys.readouterr().err, "traverse leg 1 windows")
    n = int(re.search(r"\b(\d+)/(\d+)\b", final).group(2))  # type: ignore[union-attr]
    assert n >= 2 and re.search(rf"100%.*\b{n}/{n}\b", final), final


def test_off_and_auto_print_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    dem = marsgis.open_dem("gale-mola")
    with marsgis.set_options(progress=False):
        planning.plan_traverse(dem, GALE, GOAL)
    assert marsgis.get_option("progress") == "auto"
    planning.eligibility_map(marsgis.open_dem("mola"), "msl")  # "auto": stderr is no TTY here
    assert capsys.readouterr().err == ""
    with pytest.raises(InvalidOptionError, match="'sometimes'"):
        marsgis.set_options(progress="sometimes")


def test_cli_json_turns_progress_off() -> None:
    args = ["traverse", "--dem", "gale-mola", "--from", "-4.5895,137.4417"]
    args += ["--to", "-4.8214,137.3858"]
    runner = CliRunner()
    with marsgis.set_options(progress=True):
        text = runner.invoke(main, args)
        as_json = runner.invoke(main, [*args, "--json"])
        assert marsgis.get_option("progress") is True  # --json's switch ends with its command
    assert text.exit_code == 0 and as_json.exit_code == 0, (text.output, as_json.output)
    assert re.search(r"100%.*\b1/1\b", _final(text.stderr, "traverse legs"))
    assert as_json.stderr == ""
