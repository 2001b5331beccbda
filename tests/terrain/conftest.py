"""Fixtures of the terrain tests: the shipped DEMs and gdaldem run on the real files."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import rasterio
import xarray as xr

import marsgis
from marsgis.data import DATA_DIR

#: the 1 m Gale DEM as shipped (Float32 GeoTIFF, Mars2000 equirectangular, nodata -32767)
GALE_1M_TIF = DATA_DIR / "mmgis-gale-test-mission" / "missionDEM.tif"
GDALDEM = shutil.which("gdaldem")


@pytest.fixture(scope="session")
def gale_1m_tif() -> Path:
    """Path of the shipped gale-1m GeoTIFF."""
    return GALE_1M_TIF


@pytest.fixture(scope="session")
def gale_1m() -> xr.DataArray:
    """gale-1m loaded into memory."""
    return marsgis.open_dem("gale-1m").compute()


@pytest.fixture(scope="session")
def gale_mola() -> xr.DataArray:
    return marsgis.open_dem("gale-mola")


@pytest.fixture(scope="session")
def mola() -> xr.DataArray:
    return marsgis.open_dem("mola")


@pytest.fixture(scope="session")
def gdaldem(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., np.ndarray]:
    """``gdaldem(mode, src, *options)``: run Debian's gdaldem, return the band as float64 with
    its nodata value replaced by NaN."""
    if GDALDEM is None:
        pytest.fail("gdaldem not found: install gdal-bin (scripts/setup-system.sh does)")
    folder = tmp_path_factory.mktemp("gdaldem")
    counter = iter(range(10_000))

    def run(mode: str, src: Path, *options: str) -> np.ndarray:
        out = folder / f"{mode}-{next(counter)}.tif"
        subprocess.run([GDALDEM, mode, "-q", str(src), str(out), *options], check=True)
        with rasterio.open(out) as ds:
            band = ds.read(1).astype(np.float64)
            if ds.nodata is not None:
                band[band == ds.nodata] = np.nan
        return band

    return run
