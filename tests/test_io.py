"""open_dem on the shipped DEMs and on files, checked against direct decoding and GDAL."""

from __future__ import annotations

import json
from pathlib import Path

import dask.array as da
import numpy as np
import pytest
import rasterio
from pyproj import CRS

import marsgis
from marsgis.crs import crs_code
from marsgis.data import DATA_DIR, verify_sha256
from marsgis.exceptions import (
    BodyMismatchError,
    DataNotFoundError,
    DatasetIntegrityError,
    MarsGISError,
    MissingCRSError,
)

GALE_BIN = DATA_DIR / "gale-mola-128ppd-window" / "gale-mola.bin"
GALE_1M = DATA_DIR / "mmgis-gale-test-mission" / "missionDEM.tif"


def test_gale_mola_decodes_to_integer_metres() -> None:
    meta = json.loads((GALE_BIN.parent / "gale-mola.json").read_text())
    q = np.fromfile(GALE_BIN, dtype="<u2").reshape(897, 897).astype(np.float64)
    expected = np.round(-4648.0 + q * 6650.0 / 65535.0)
    dem = marsgis.open_dem("gale-mola")
    np.testing.assert_array_equal(dem.values, expected.astype(np.float32))
    assert float(dem.min()) == -4648 and float(dem.max()) == 2002
    # the json's own origin: Bradbury Landing pixel (row 344, col 403) is −4509 m
    assert float(dem.isel(y=344, x=403)) == meta["origin"]["elevation"] == -4509.0
    b = meta["bounds"]
    assert dem.rio.bounds() == pytest.approx((b["west"], b["south"], b["east"], b["north"]))


def test_gale_mola_agrees_with_the_independent_4ppd_grid() -> None:
    """PROVENANCE: 32×32-block medians of the 128 px/deg window vs the 4 px/deg cells, median 0 m."""
    fine = marsgis.open_dem("gale-mola")
    coarse = marsgis.open_dem("mola")
    # 0.25° cell edges fall on window row 13 (2.0°S) and column 26 (134.5°E)
    r0, c0, n = 13, 26, 27
    blocks = fine.values[r0 : r0 + 32 * n, c0 : c0 + 32 * n].reshape(n, 32, n, 32)
    lat = fine["y"].values[r0 : r0 + 32 * n].reshape(n, 32).mean(axis=1)
    lon = fine["x"].values[c0 : c0 + 32 * n].reshape(n, 32).mean(axis=1)
    block_median = np.median(blocks.transpose(0, 2, 1, 3).reshape(n, n, -1), axis=2)
    cells = coarse.sel(y=lat, x=lon, method="nearest").values
    assert np.allclose(lat % 0.25, 0.125) and np.allclose(lon % 0.25, 0.125)
    assert abs(float(np.median(block_median - cells))) <= 1.0


def test_gale_1m_equals_gdal_read() -> None:
    dem = marsgis.open_dem("gale-1m")
    with rasterio.open(GALE_1M) as ds:
        ref = ds.read(1, masked=True).filled(np.nan)
        assert dem.rio.transform() == ds.transform
        assert CRS.from_user_input(dem.rio.crs) == CRS.from_user_input(ds.crs.to_wkt())
    np.testing.assert_array_equal(dem.values, ref)
    assert isinstance(dem.data, da.Array)  # GeoTIFFs open lazily
    assert dem.attrs["units"] == "m" and dem.dims == ("y", "x")
    assert CRS.from_user_input(dem.rio.crs).is_projected


def test_bbox_reads_a_window() -> None:
    dem = marsgis.open_dem("mola", bbox=(130, -10, 140, 0))
    assert dem.shape == (40, 40)
    assert float(dem["x"].min()) == 130.125 and float(dem["y"].max()) == -0.125
    # −180–180 longitudes select the same window
    west = marsgis.open_dem("mola", bbox=(-50, -10, -40, 0))
    east = marsgis.open_dem("mola", bbox=(310, -10, 320, 0))
    np.testing.assert_array_equal(west.values, east.values)


def test_bbox_on_projected_file_uses_lonlat() -> None:
    full = marsgis.open_dem("gale-1m")
    lon0, lat0 = 137.3701, -4.6668
    part = marsgis.open_dem(
        "gale-1m", bbox=(lon0 - 0.001, lat0 - 0.001, lon0 + 0.001, lat0 + 0.001)
    )
    # 0.001° on the Mars sphere is 59.27 m, so about 119 px on each side
    assert 110 <= part.sizes["x"] <= 125 and 110 <= part.sizes["y"] <= 125
    sub = full.sel(x=part["x"], y=part["y"])
    np.testing.assert_array_equal(part.values, sub.values)


def _write_tif(path: Path, crs: str | None) -> None:
    with rasterio.open(GALE_1M) as src:
        profile = src.profile
        data = src.read(1)
    profile.update(crs=crs)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)


def test_earth_crs_is_refused(tmp_path: Path) -> None:
    tif = tmp_path / "earth.tif"
    _write_tif(tif, "EPSG:3857")
    with pytest.raises(BodyMismatchError, match="not a Mars CRS.*IAU_2015:49900"):
        marsgis.open_dem(tif)


def test_missing_crs_is_refused(tmp_path: Path) -> None:
    tif = tmp_path / "nocrs.tif"
    _write_tif(tif, None)
    with pytest.raises(MissingCRSError, match="write_crs"):
        marsgis.open_dem(tif)


def test_unknown_dataset_lists_known_ones() -> None:
    with pytest.raises(DataNotFoundError, match=r"\['gale-1m', 'gale-mola', 'mola'\]"):
        marsgis.open_dem("olympus")


def test_errors_share_one_family() -> None:
    with pytest.raises(MarsGISError):
        marsgis.open_dem("olympus")


def test_damaged_copy_fails_its_checksum(tmp_path: Path) -> None:
    bad = tmp_path / "gale-mola.bin"
    data = bytearray(GALE_BIN.read_bytes())
    data[1000] ^= 0xFF
    bad.write_bytes(bytes(data))
    verify_sha256(GALE_BIN, "f7390fbac5911f111f850d03e6efa581f61adf93c60cb959a3e2c7960c4427aa")
    with pytest.raises(DatasetIntegrityError, match="sha256"):
        verify_sha256(bad, "f7390fbac5911f111f850d03e6efa581f61adf93c60cb959a3e2c7960c4427aa")


def test_chunked_open_is_lazy_and_equal() -> None:
    eager = marsgis.open_dem("mola")
    lazy = marsgis.open_dem("mola", chunks=256)
    assert isinstance(lazy.data, da.Array) and lazy.data.chunksize == (256, 256)
    np.testing.assert_array_equal(lazy.values, eager.values)
    assert crs_code(lazy.rio.crs) == "IAU_2015:49900"
