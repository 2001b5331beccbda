"""`marsgis dem info` and `marsgis sample`, run as a user would (a subprocess of the installed CLI)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio

from marsgis.data import DATA_DIR

CLI = [str(Path(sys.executable).parent / "marsgis")]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, check=False)


def test_dem_info_gale_1m_matches_gdal() -> None:
    out = run("dem", "info", "gale-1m", "--json")
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    with rasterio.open(DATA_DIR / "mmgis-gale-test-mission" / "missionDEM.tif") as ds:
        data = ds.read(1, masked=True)
        assert info["shape"] == [ds.height, ds.width]
        assert info["bounds"] == list(ds.bounds)
        assert info["resolution_m"] == [abs(ds.res[0]), abs(ds.res[1])]
    assert info["min"] == pytest.approx(float(data.min()))
    assert info["max"] == pytest.approx(float(data.max()))
    # 1 m on the 3396190 m sphere is 1/59274.8 of a degree
    assert info["resolution_deg"][0] == pytest.approx(180 / (np.pi * 3396190))


def test_dem_info_mola() -> None:
    info = json.loads(run("dem", "info", "mola", "--json").stdout)
    assert info["crs"] == "IAU_2015:49900"
    assert info["resolution_deg"] == [0.25, 0.25]
    assert info["bounds"] == [0.0, -90.0, 360.0, 90.0]
    assert (info["min"], info["max"]) == (-8068.0, 21134.0)
    assert info["resolution_m"][1] == pytest.approx(np.pi * 3396190 / 720)


def test_sample_equals_raw_cell_at_pixel_centre() -> None:
    raw = np.fromfile(DATA_DIR / "mola-megdr-4ppd" / "megt90n000cb.img", dtype=">i2").reshape(
        720, 1440
    )
    out = json.loads(run("sample", "mola", "--lat", "17.375", "--lon", "-133.125", "--json").stdout)
    assert out["elevation_m"] == float(raw[290, 907]) == 21134.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("sample", "mola", "--lat", "95", "--lon", "0"), "latitude 95.0 is outside [-90, 90]"),
        (("dem", "info", "olympus"), "['gale-1m', 'gale-mola', 'mola']"),
        (("sample", "gale-1m", "--lat", "0", "--lon", "0"), "lies outside DEM 'gale-1m'"),
    ],
)
def test_errors_exit_nonzero_without_traceback(args: tuple[str, ...], message: str) -> None:
    out = run(*args)
    assert out.returncode == 2
    assert message in out.stderr and out.stderr.startswith("error: ")
    assert "Traceback" not in out.stderr
