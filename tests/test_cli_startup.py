"""The ``marsgis`` command imports only what a command needs (its start-up; issue #17).

Each case runs the real entry point in a fresh interpreter under ``python -X importtime`` and
reads the modules it imported: an import list, not a timing (speed is in ``make bench``,
section ``cli_startup``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
import rasterio.transform

import marsgis
from marsgis.io.writers import write_dem

ROOT = Path(__file__).resolve().parents[1]

#: never imported by ``--help`` nor by a command that does not use them
HEAVY = (
    "xarray",
    "pandas",
    "dask",
    "distributed",
    "numba",
    "torch",
    "matplotlib",
    "geopandas",
    "shapely",
    "sqlalchemy",
    "fastapi",
    "pystac",
    "pystac_client",
    "stac_fastapi",  # the API's STAC routes (marsgis serve only)
    "rioxarray",
    "scipy",
)
#: ``terrain slope`` of a large GeoTIFF runs its cached numba kernel; nothing else heavy
SLOPE_ALLOWED = {"numba", "scipy"}  # scipy: numba loads scipy.linalg when it loads a kernel


def _imported(*args: str) -> set[str]:
    """Top-level packages imported by ``marsgis ARGS`` (the console script's entry point)."""
    code = "import sys; from marsgis.cli import main; sys.argv[0] = 'marsgis'; main()"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code, *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = {
        line.rsplit("|", 1)[1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "marsgis.cli" in names  # the probe saw the imports
    return {name.split(".")[0] for name in names} | names


@pytest.mark.parametrize(
    "args",
    [("--help",), ("terrain", "--help"), ("terrain", "slope", "--help"), ("--version",)],
)
def test_help_imports_nothing_heavy(args: tuple[str, ...]) -> None:
    loaded = _imported(*args)
    assert sorted(loaded & set(HEAVY)) == []
    assert "numpy" not in loaded


def test_terrain_slope_of_a_small_geotiff_imports_nothing_heavy(tmp_path: Path) -> None:
    # up to stream._NUMPY_MAX_CELLS cells the numpy twins of the numba kernels run: no numba
    dem = marsgis.open_dem("gale-mola").isel(y=slice(0, 64), x=slice(0, 64))
    src = write_dem(dem, tmp_path / "tiny.tif", compress=None)
    loaded = _imported("terrain", "slope", str(src), "-o", str(tmp_path / "out.tif"), "--json")
    assert sorted(loaded & set(HEAVY)) == []
    assert {"numpy", "rasterio", "marsgis.terrain._numpy_kernels"} <= loaded
    assert "marsgis.terrain._kernels" not in loaded
    with rasterio.open(tmp_path / "out.tif") as ds:
        got = ds.read(1)
    np.testing.assert_array_equal(got, marsgis.terrain.slope(marsgis.open_dem(src)).values)


def test_terrain_slope_of_a_large_geotiff_imports_no_xarray_or_dask(tmp_path: Path) -> None:
    # 2049 × 2049 > stream._NUMPY_MAX_CELLS: the cached numba kernel
    values = np.linspace(-4000.0, -3000.0, 2049 * 2049, dtype=np.float32).reshape(2049, 2049)
    src = tmp_path / "big.tif"
    profile = {
        "driver": "GTiff", "height": 2049, "width": 2049, "count": 1, "dtype": "float32",
        "crs": rasterio.crs.CRS.from_user_input("IAU_2015:49910"),
        "transform": rasterio.transform.from_origin(0.0, 0.0, 50.0, 50.0),
    }  # fmt: skip
    with rasterio.open(src, "w", **profile) as dst:
        dst.write(values, 1)
    loaded = _imported("terrain", "slope", str(src), "-o", str(tmp_path / "out.tif"), "--json")
    assert sorted(loaded & set(HEAVY) - SLOPE_ALLOWED) == []
    assert {"numpy", "rasterio", "numba", "marsgis.terrain._kernels"} <= loaded
    assert "marsgis.terrain._numpy_kernels" not in loaded
    with rasterio.open(tmp_path / "out.tif") as ds:
        assert ds.shape == (2049, 2049)


def test_import_marsgis_imports_no_numpy_and_the_accessor_follows_xarray() -> None:
    code = (
        "import sys, marsgis\n"
        "assert 'numpy' not in sys.modules and 'xarray' not in sys.modules\n"
        "import numpy as np, xarray as xr\n"
        "print(type(xr.DataArray(np.zeros(2)).mars).__name__)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.strip() == "MarsAccessor"
