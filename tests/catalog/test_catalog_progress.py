"""catalog.fetch reports its download on stderr (bytes, to 100 %) when progress is on."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from stac_test_server import MISSION_DEM, StacServer

import marsgis
import marsgis.catalog as cat

pytestmark = pytest.mark.network


def test_fetch_shows_the_bytes_it_downloads(
    stac_server: StacServer,
    cache_env: Path,
    spatialite_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    href = f"{stac_server.base}/files/missionDEM.tif"
    with marsgis.set_options(progress=True):
        path = cat.fetch(href, db=spatialite_url)
    err = capsys.readouterr().err
    states = [s.strip() for s in re.split(r"[\r\n]", err) if s.strip().startswith("missionDEM")]
    assert states, err
    size = MISSION_DEM.stat().st_size
    assert path.stat().st_size == size
    # the whole file at 100 %, in tqdm's binary units (1024 divisor; 100–999 KiB as "459k")
    final = states[-1]
    kib = size / 1024
    assert 100 <= kib < 1000
    assert final.startswith(f"missionDEM.tif: 100%|██████████| {kib:.0f}k/{kib:.0f}k "), final

    cat.fetch(href, db=spatialite_url, refresh=True)  # "auto" under pytest: no TTY, no bar
    assert capsys.readouterr().err == ""
