"""The API section of ``make bench`` runs end to end at a tiny size (timings not asserted).

A real ``marsgis serve`` and Debian's ``wrk`` (scripts/setup-system.sh) do the work; the
checks are on what was served: the seeded missions, the cached tile against the library's
own rendering and the static server's copy, no request in error, and the doc block.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_api  # noqa: E402
import run as bench_run  # noqa: E402


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARSGIS_DATA_DIR", str(tmp_path / "user-data"))
    monkeypatch.setenv("MARSGIS_CACHE_DIR", str(tmp_path / "user-cache"))
    monkeypatch.delenv("MARSGIS_DATABASE_URL", raising=False)


@pytest.mark.slow  # ~16 s: a benchmark section (make test-slow)
def test_api_section_runs_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from marsgis.viz.tiles import render_tile

    scale = bench_api.TINY
    res = bench_api.measure(tmp_path, scale, log=lambda _line: None)

    # the server listed exactly the seeded missions, one default page of them
    assert res["missions_total"] == scale.missions
    assert res["missions_page"] == scale.missions
    # the cached tile is the library's rendering, and the static server sent the same bytes
    z, x, y = res["tile"]
    served = np.asarray(Image.open(io.BytesIO(res["tile_png"])).convert("RGBA"))
    np.testing.assert_array_equal(served, render_tile(z, x, y))
    assert res["tile_bytes_equal"] is True
    # every load run sent requests and none failed; uncached tiles were each asked once
    for key in ("missions", "cached_tile", "static_tile", "uncached_tile"):
        load = res[key]
        assert load.requests > 0, key
        assert load.errors == 0, key
    assert res["uncached_tile"].requests <= res["uncached_paths"]
    if (ROOT / "marsgis" / "api" / "routers" / "planning.py").exists():
        assert res["traverse_status"] == 200, res.get("traverse_problem")
        assert res["traverse_feature"]["type"] == "Feature"
        assert res["traverse_feature"]["geometry"]["type"] == "LineString"
        assert res["traverse"].errors == 0
    else:  # the planning routes are not on this branch yet
        assert res["traverse_status"] == 404

    # the section renders into the doc between its markers, replacing an older block
    section = bench_api.to_section(res, bench_run.Row, bench_run.Section)
    assert len(section.rows) == 4
    doc = tmp_path / "benchmarks.md"
    monkeypatch.setattr(bench_run, "DOC", doc)
    for stamp in ("2000-01-01", "2000-01-02"):
        bench_run.update_doc({"api": bench_run.render("api", section, stamp, "host", "idle")})
    text = doc.read_text()
    assert text.count("<!-- bench:api -->") == 1
    assert "2000-01-02" in text and "2000-01-01" not in text
    assert "`GET /api/v1/missions`" in text
