"""``marsgis terrain ...`` run as a user would (the installed CLI in a subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import rasterio
from click.testing import CliRunner

import marsgis
import marsgis.terrain as terrain
from marsgis.cli import main

CLI = [str(Path(sys.executable).parent / "marsgis")]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, check=False)


def test_cli_slope_gale_1m(tmp_path, gale_1m_tif) -> None:
    out = tmp_path / "slope.tif"
    proc = run("terrain", "slope", "gale-1m", "-o", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)  # exactly one JSON document
    expected = terrain.slope(marsgis.open_dem("gale-1m")).values
    with rasterio.open(out) as ds, rasterio.open(gale_1m_tif) as src:
        assert ds.crs == src.crs
        assert ds.transform == src.transform
        values = ds.read(1)
    np.testing.assert_array_equal(values, expected)
    assert summary["product"] == "slope"
    assert summary["output"] == str(out)
    assert summary["shape"] == [337, 348]
    assert summary["units"] == "degrees"
    assert summary["min"] == float(np.nanmin(expected))
    assert summary["max"] == float(np.nanmax(expected))
    assert abs(summary["mean"] - float(np.nanmean(expected.astype(np.float64)))) < 1e-9
    assert summary["crs"] == "ESRI:103885"  # Mars 2000 equidistant cylindrical, as GDAL names it


def test_cli_hillshade_options_and_text_output(tmp_path) -> None:
    out = tmp_path / "hs.tif"
    result = CliRunner().invoke(
        main,
        [
            "terrain",
            "hillshade",
            "gale-mola",
            "-o",
            str(out),
            "--azimuth",
            "90",
            "--altitude",
            "30",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "product: hillshade" in result.output
    expected = terrain.hillshade(marsgis.open_dem("gale-mola"), azimuth=90, altitude=30).values
    with rasterio.open(out) as ds:
        np.testing.assert_array_equal(ds.read(1), expected)


def test_cli_aspect_and_roughness_uncompressed(tmp_path) -> None:
    for product in ("aspect", "roughness"):
        out = tmp_path / f"{product}.tif"
        proc = run("terrain", product, "gale-mola", "-o", str(out), "--compress", "none", "--json")
        assert proc.returncode == 0, proc.stderr
        with rasterio.open(out) as ds:
            assert ds.profile.get("compress") is None
            expected = getattr(terrain, product)(marsgis.open_dem("gale-mola")).values
            np.testing.assert_array_equal(ds.read(1), expected)


def test_cli_errors_exit_2_without_traceback(tmp_path) -> None:
    proc = run("terrain", "slope", "olympus", "-o", str(tmp_path / "x.tif"))
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ")
    assert "Traceback" not in proc.stderr
    proc = run("terrain", "slope", "gale-mola", "-o", str(tmp_path / "no" / "x.tif"))
    assert proc.returncode == 2
    assert "does not exist" in proc.stderr
