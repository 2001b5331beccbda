"""Every notebook under notebooks/ (and the shipped report notebooks): committed clean, a tagged parameters cell, public API only,
and it runs (papermill, small parameters) without an error.

Notebooks are discovered by glob, so a new one is covered as soon as it is added. Small
parameters for the test come from ``SMALL`` below or from the notebook's own metadata
``{"marsgis": {"test_parameters": {...}}}`` (the metadata wins); without either the notebook
runs with its defaults, which must then be small. A notebook with a dedicated test that runs it
(``RUN_ELSEWHERE``) is only checked for cleanliness here. Each notebook runs in a temporary folder with
its own data dir, reports dir and SpatiaLite database (``MARSGIS_DATABASE_URL``), so nothing
touches the user's files.
"""

from __future__ import annotations

import ast
import base64
import io
import math
import re
from pathlib import Path
from typing import Any

import nbformat
import PIL.Image
import pytest
from pyproj import Geod

from marsgis.crs import MARS_RADIUS_M

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = ROOT / "notebooks"
#: The shipped report notebooks are package data (``marsgis/reports/notebooks``), named
#: ``reports/<name>.ipynb`` here.
REPORTS_DIR = ROOT / "marsgis" / "reports" / "notebooks"
PATHS: dict[str, Path] = {
    **{
        p.relative_to(NOTEBOOKS_DIR).as_posix(): p
        for p in NOTEBOOKS_DIR.rglob("*.ipynb")
        if ".ipynb_checkpoints" not in p.parts
    },
    **{f"reports/{p.name}": p for p in REPORTS_DIR.glob("*.ipynb")},
}
NOTEBOOKS = sorted(PATHS)
#: Small parameters per notebook (relative path under notebooks/).
SMALL: dict[str, dict[str, Any]] = {
    "landing-site-selection.ipynb": {"top": 3},
    "traverse-planning.ipynb": {"sols": [746, 1500]},
    "explore-terrain.ipynb": {"n_profile": 50},
}
#: Cells (by a call they make) that must show a figure: an ``image/png`` output when executed.
FIGURES: dict[str, list[str]] = {
    "landing-site-selection.ipynb": ["viz.eligibility_figure(", "viz.sites_figure("],
    "traverse-planning.ipynb": ["viz.route_figure("],
    "station-analytics.ipynb": ["flows.plot.bar(", "projected.plot("],
}
#: Notebooks run (with checks of their values) by a test of their own; checked clean here.
RUN_ELSEWHERE = {"terrain-classifier.ipynb": ROOT / "tests" / "ml" / "test_notebook_ml.py"}
_PRIVATE = re.compile(r"\bmarsgis(\.[A-Za-z]\w*)*\._\w")
GEOD = Geod(a=MARS_RADIUS_M, b=MARS_RADIUS_M)


def _python(source: str) -> str:
    """Cell source without IPython magics and shell escapes (which ast cannot parse)."""
    return "\n".join(
        "" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()
    )


def test_notebooks_are_found() -> None:
    assert {"explore-terrain.ipynb", "mission-database.ipynb", "reports/mission-plan.ipynb"} <= set(
        NOTEBOOKS
    )


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_clean_with_parameters_cell(name: str) -> None:
    nb = nbformat.read(PATHS[name], as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    dirty = [i for i, c in enumerate(code) if c.get("outputs") or c.get("execution_count")]
    assert dirty == [], f"{name}: code cells {dirty} carry outputs; clear them before committing"
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{name}: needs exactly one cell tagged 'parameters'"
    statements = ast.parse(_python(tagged[0].source)).body
    assert statements and all(isinstance(s, (ast.Assign, ast.AnnAssign)) for s in statements), (
        f"{name}: the parameters cell holds only assignments"
    )
    for i, cell in enumerate(code):
        source = _python(cell.source)
        assert not _PRIVATE.search(source), f"{name} cell {i}: uses a private marsgis name"
        defined = [
            n.name
            for n in ast.walk(ast.parse(source))
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        ]
        assert defined == [], f"{name} cell {i}: defines {defined}; move logic into marsgis"


def _seed_mission(db_url: str) -> Any:
    import marsgis
    from marsgis import db, planning

    dem = marsgis.open_dem("gale-mola")
    plan = planning.plan_mission(
        "Notebook test: Gale",
        lat=-4.5895,
        lon=137.4417,
        dem=dem,
        constraints="msl",
        when="2012-08-06T05:17:57Z",
        waypoints=[(-4.6595, 137.3775)],
    )
    return plan, db.save_plan(plan, db=db_url)


def _text(nb: Any) -> str:
    return "\n".join(
        str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
        + str(o.get("data", {}).get("text/markdown", ""))
        for c in nb.cells for o in c.get("outputs", [])
    )  # fmt: skip


def test_notebooks_run_elsewhere_are_run() -> None:
    for name, test in RUN_ELSEWHERE.items():
        assert test.is_file() and name in test.read_text(encoding="utf-8"), name


@pytest.mark.parametrize("name", [n for n in NOTEBOOKS if n not in RUN_ELSEWHERE])
def test_notebook_runs(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import papermill

    from marsgis import db

    db_url = f"sqlite:///{tmp_path / 'notebook.sqlite'}"
    db.upgrade(db_url)  # an explicit SpatiaLite URL must name an existing store
    monkeypatch.setenv("MARSGIS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MARSGIS_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("MARSGIS_DATABASE_URL", db_url)
    nb_in = nbformat.read(PATHS[name], as_version=4)
    params = dict(SMALL.get(name, {}))
    params.update(nb_in.metadata.get("marsgis", {}).get("test_parameters", {}))
    seeded = None
    if name == "mission-database.ipynb":
        params["db_url"] = db_url
    if name == "reports/mission-plan.ipynb":
        seeded = _seed_mission(db_url)
        params.update(mission_id=seeded[1].mission.id, date="2026-03-01")
    if name == "reports/station-arrivals.ipynb":
        from marsgis.db.station.seed import ensure_station

        ensure_station(seed=3, passengers=120, db=db_url)
        params.update(day="2031-05-01")
    out = tmp_path / Path(name).name
    papermill.execute_notebook(
        str(PATHS[name]), str(out), parameters=params, kernel_name="python3",
        cwd=str(tmp_path), progress_bar=False,
    )  # fmt: skip
    done = nbformat.read(out, as_version=4)
    errors = [
        o for c in done.cells for o in c.get("outputs", []) if o.get("output_type") == "error"
    ]
    assert errors == []
    text = _text(done)
    for call in FIGURES.get(name, []):
        cells = [c for c in done.cells if c.cell_type == "code" and call in c.source]
        assert len(cells) == 1, f"{name}: one cell calls {call}"
        pngs = [
            o["data"]["image/png"] for o in cells[0].outputs if "image/png" in o.get("data", {})
        ]
        assert len(pngs) == 1, f"{name}: the {call} cell shows no image ({cells[0].outputs})"
        with PIL.Image.open(io.BytesIO(base64.b64decode(pngs[0]))) as image:
            assert image.format == "PNG" and min(image.size) >= 300, image.size
    if name == "landing-site-selection.ipynb":
        assert "eligible on the 2 evaluated constraint(s)" in text
        assert "18.54 % of Mars" in text  # msl on MOLA: |lat| ≤ 30° and elevation < −1 km
    elif name == "traverse-planning.ipynb":
        assert "'curiosity_odometry_m': 9207" in text
        assert "planned" in text
    elif name == "explore-terrain.ipynb":
        assert "(-4.5895, 137.4417): -4503 m" in text  # as `gdallocationinfo` reads it
        sphere_km2 = 4 * math.pi * MARS_RADIUS_M**2 / 1e6
        assert f"the sphere 4πR² is {sphere_km2:,.0f} km²" in text
    elif name == "mission-database.ipynb":
        _, _, near = GEOD.inv(137.4, -4.6, 137.4417, -4.5895)
        _, _, far = GEOD.inv(137.4, -4.6, 137.85, -5.08)
        expected = f"[('Gale: Bradbury Landing', {near / 1000:.1f}), "
        expected += f"('Gale: Aeolis Mons ascent', {far / 1000:.1f})]"
        assert expected in text
        assert text.count("refused:") == 2
        assert "['Olympus Mons survey']" in text  # the box across the 180° meridian
        from marsgis import db

        assert db.list_missions(db=db_url) == []  # cleaned up after itself
    elif name in ("station-analytics.ipynb", "reports/station-arrivals.ipynb"):
        import sqlalchemy as sa

        with db.get_engine(db_url).connect() as conn:
            q = lambda sql: conn.execute(sa.text(sql)).all()  # noqa: E731
            on_manifests = q("SELECT count(*) FROM station_manifest_entries")[0][0]
            decisions: dict[str, int] = dict(
                q("SELECT outcome, count(*) FROM station_entry_events GROUP BY 1")
            )
            first_day = [
                o for o, at in q("SELECT outcome, arrival_at FROM station_entry_events")
                if str(at).startswith("2031-05-01")
            ]  # fmt: skip
        if name == "station-analytics.ipynb":  # it seeds the empty store itself (300 passengers)
            assert on_manifests == 300
            total = sum(decisions.values())
            assert f"3 colonies, 12 voyages, 300 passengers on manifests, {total} entry" in text
            assert "demo station built now" in text
        else:
            assert first_day, "the seeded station has arrivals on 2031-05-01"
            admitted, refused = first_day.count("admitted"), first_day.count("refused")
            assert f"{admitted} admitted, {refused} refused" in text
    elif name == "reports/mission-plan.ipynb":
        from marsgis.planning import assess_risk

        plan, stored = seeded  # type: ignore[misc]
        assert stored.mission.name in text
        risk = assess_risk(lat=plan.lat, lon=plan.lon, when="2026-03-01", traverse=plan.traverse)
        assert f"Risk **{risk.score:.4f} ({risk.level})**" in text
