"""HiRISE, MOLA MEGDR, CTX (ISIS3) and HRSC DTMs open with the right CRS, transform, nodata and values.

Expected values are computed independently: projection parameters with pyproj from the
published definitions (DSMAP offsets, ISIS local radius), masks and values with numpy from the
bytes the fixtures wrote, and Debian's ``gdalinfo -json`` (GDAL 3.6, a separate build from
rasterio's) as an oracle for the geotransform.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from click.testing import CliRunner
from planetary_files import Product, write_hirise_dtm
from pyproj import CRS, Transformer

import marsgis
from marsgis.cli import main
from marsgis.crs import crs_code
from marsgis.data import DATA_DIR
from marsgis.exceptions import DataReadError, OutOfBoundsError
from marsgis.io import dem_from_array

GALE_1M = DATA_DIR / "mmgis-gale-test-mission" / "missionDEM.tif"
# DSMAP (PDS3 Standards) offsets: the centre of the first pixel is line/sample 1.0. GDAL's PDS
# driver applies them with this correction, as its documentation says for the MEGDRs.
DSMAP_CONFIG = [
    "--config",
    "PDS_SampleProjOffset_Shift",
    "-0.5",
    "--config",
    "PDS_LineProjOffset_Shift",
    "-0.5",
]


def _gdalinfo(path: Path, *config: str) -> dict:
    exe = shutil.which("gdalinfo")
    assert exe is not None, "gdalinfo missing: scripts/setup-system.sh installs Debian gdal-bin"
    out = subprocess.run(
        [exe, "-json", *config, str(path)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def _same_projection(crs: object, reference: str) -> None:
    """``crs`` maps lon/lat to the same metres as the PROJ definition ``reference``."""
    lon = np.array([70.0, 77.45, 137.4, 180.0, 250.0])
    lat = np.array([-40.0, 18.4, -4.6, 0.0, 60.0])
    ours = Transformer.from_crs(CRS("IAU_2015:49900"), CRS.from_user_input(crs), always_xy=True)
    ref = Transformer.from_crs(CRS("IAU_2015:49900"), CRS(reference), always_xy=True)
    np.testing.assert_allclose(ours.transform(lon, lat), ref.transform(lon, lat), rtol=0, atol=1e-6)


def _isis_special_float32(raw: np.ndarray) -> np.ndarray:
    """NULL, LRS, LIS, HIS, HRS: the bit patterns 0xFF7FFFFB–0xFF7FFFFF (ISIS SpecialPixel.h)."""
    bits = raw.astype("<f4").view("<u4")
    return (bits >= 0xFF7FFFFB) & (bits <= 0xFF7FFFFF)


# ----------------------------------------------------------------------------- HiRISE DTM


def test_hirise_dtm_equirectangular_with_a_standard_parallel(products: dict[str, Product]) -> None:
    p = products["hirise"]
    f = p.facts
    dem = marsgis.open_dem(p.path)
    _same_projection(
        dem.rio.crs,
        f"+proj=eqc +lat_ts={f['center_latitude']} +lat_0=0 +lon_0={f['center_longitude']} "
        f"+x_0=0 +y_0=0 +R={f['radius']} +units=m +type=crs",
    )
    # DSMAP: x = (sample − SPO)·scale, y = (LPO − line)·scale at pixel centres
    expected = Affine(
        f["scale"], 0, (0.5 - f["spo"]) * f["scale"], 0, -f["scale"], (f["lpo"] - 0.5) * f["scale"]
    )
    assert dem.rio.transform() == expected
    assert float(dem["x"][0]) == (1 - f["spo"]) * f["scale"]
    assert float(dem["y"][0]) == (f["lpo"] - 1) * f["scale"]
    gdal = _gdalinfo(p.path, *DSMAP_CONFIG)
    assert Affine.from_gdal(*gdal["geoTransform"]) == expected


def test_hirise_dtm_hex_missing_constant_and_special_pixels_are_nan(
    products: dict[str, Product],
) -> None:
    p = products["hirise"]
    dem = marsgis.open_dem(p.path)
    special = _isis_special_float32(p.raw)
    assert int(special.sum()) == 12  # 10 NULL (the hex MISSING_CONSTANT) + LRS + HRS
    expected = np.where(special, np.nan, p.raw.astype(np.float32))
    np.testing.assert_array_equal(dem.values, expected)
    # GDAL decodes the same stored bytes (its nodata is the hex constant's float)
    with rasterio.open(p.path) as ds:
        assert ds.nodata == float(np.frombuffer(bytes.fromhex("FF7FFFFB"), ">f4")[0])
        np.testing.assert_array_equal(ds.read(1), p.raw)


def test_dem_info_no_longer_reports_the_null_as_minimum(products: dict[str, Product]) -> None:
    p = products["hirise"]
    result = CliRunner().invoke(main, ["dem", "info", str(p.path), "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    valid = p.raw[~_isis_special_float32(p.raw)]
    assert info["min"] == float(valid.min()) > -3000.0
    assert info["max"] == float(valid.max())
    assert info["shape"] == [40, 30]


@pytest.mark.parametrize("lat_ts", [-30.0, 45.0])
def test_any_standard_parallel(tmp_path: Path, lat_ts: float) -> None:
    p = write_hirise_dtm(tmp_path, center_latitude=lat_ts)
    dem = marsgis.open_dem(p.path, chunks=16)
    _same_projection(dem.rio.crs, f"+proj=eqc +lat_ts={lat_ts} +lon_0=180 +R=3396190 +type=crs")
    assert dem.rio.transform() == Affine.from_gdal(
        *_gdalinfo(p.path, *DSMAP_CONFIG)["geoTransform"]
    )
    assert int(np.isnan(dem.values).sum()) == 12


def test_equatorial_standard_parallel_stays_a_lonlat_grid(tmp_path: Path) -> None:
    """CENTER_LATITUDE = 0: the grid is lon/lat degrees (MAP_RESOLUTION), as before."""
    p = write_hirise_dtm(tmp_path, center_latitude=0.0)
    dem = marsgis.open_dem(p.path)
    assert crs_code(dem.rio.crs) == "IAU_2015:49900"
    res = np.pi * 3_396_190.0 / 180.0  # px/deg at 1 m/px, as the label writes it (5 decimals)
    res = float(f"{res:.5f}")
    lines = np.arange(1, 41)
    np.testing.assert_allclose(dem["y"].values, (p.facts["lpo"] - lines) / res, rtol=0, atol=1e-9)


# ----------------------------------------------------------------------------- MOLA tile


def test_mola_megdr_tile(products: dict[str, Product]) -> None:
    p = products["mola"]
    f = p.facts
    dem = marsgis.open_dem(p.path)
    assert crs_code(dem.rio.crs) == "IAU_2015:49900"
    np.testing.assert_array_equal(dem["y"].values, f["top"] - (np.arange(32) + 0.5) / f["res"])
    np.testing.assert_array_equal(dem["x"].values, f["west"] + (np.arange(48) + 0.5) / f["res"])
    expected = np.where(p.raw == -32768, np.nan, p.raw.astype(np.float32))
    np.testing.assert_array_equal(dem.values, expected)
    assert int(np.isnan(dem.values).sum()) == 8
    with rasterio.open(p.path) as ds:  # GDAL's PDS driver: same pixels, same nodata
        np.testing.assert_array_equal(ds.read(1), p.raw.astype(np.int16))
        assert ds.nodata == -32768


# ----------------------------------------------------------------------------- CTX ISIS3 cube


def test_ctx_dtm_isis3_cube(products: dict[str, Product]) -> None:
    p = products["ctx"]
    f = p.facts
    dem = marsgis.open_dem(p.path)
    # ISIS Equirectangular: a sphere of the ellipsoid's local radius at CenterLatitude
    phi = np.radians(f["clat"])
    local = f["a"] * f["b"] / np.hypot(f["b"] * np.cos(phi), f["a"] * np.sin(phi))
    _same_projection(
        dem.rio.crs, f"+proj=eqc +lat_ts={f['clat']} +lon_0={f['clon']} +R={local} +type=crs"
    )
    expected_t = Affine(f["res"], 0, f["ulx"], 0, -f["res"], f["uly"])
    assert dem.rio.transform() == expected_t
    assert Affine.from_gdal(*_gdalinfo(p.path)["geoTransform"]) == expected_t
    special = _isis_special_float32(p.raw)
    assert int(special.sum()) == 12
    np.testing.assert_array_equal(dem.values, np.where(special, np.nan, p.raw.astype(np.float32)))


# ----------------------------------------------------------------------------- HRSC DTM


def test_hrsc_dtm_sinusoidal(products: dict[str, Product]) -> None:
    p = products["hrsc"]
    f = p.facts
    dem = marsgis.open_dem(p.path)
    _same_projection(dem.rio.crs, f"+proj=sinu +lon_0={f['clon']} +R={f['radius']} +type=crs")
    expected_t = Affine(
        f["scale"], 0, (0.5 - f["spo"]) * f["scale"], 0, -f["scale"], (f["lpo"] - 0.5) * f["scale"]
    )
    assert dem.rio.transform() == expected_t
    assert Affine.from_gdal(*_gdalinfo(p.path, *DSMAP_CONFIG)["geoTransform"]) == expected_t
    expected = np.where(p.raw == -32768, np.nan, p.raw.astype(np.float32))
    np.testing.assert_array_equal(dem.values, expected)
    assert int(np.isnan(dem.values).sum()) == 3 * 28 + 1


def test_hrsc_dtm_pds4(products: dict[str, Product]) -> None:
    p = products["hrsc-pds4"]
    f = p.facts
    dem = marsgis.open_dem(p.path)
    _same_projection(dem.rio.crs, f"+proj=sinu +lon_0={f['clon']} +R={f['radius']} +type=crs")
    expected_t = Affine(f["res"], 0, f["ulx"], 0, -f["res"], f["uly"])
    assert dem.rio.transform() == expected_t
    assert Affine.from_gdal(*_gdalinfo(p.path)["geoTransform"]) == expected_t
    not_data = (p.raw == -32768) | (p.raw == -32767)  # missing_constant and invalid_constant
    assert int(not_data.sum()) == 30 + 4 + 1
    np.testing.assert_array_equal(dem.values, np.where(not_data, np.nan, p.raw.astype(np.float32)))


# ----------------------------------------------------------------------------- planetographic


def _planetographic_tif(path: Path) -> Path:
    values = np.arange(12 * 16, dtype=np.float32).reshape(12, 16)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=16,
        height=12,
        count=1,
        dtype="float32",
        crs="IAU_2015:49901",
        transform=Affine(0.5, 0, 10.0, 0, -0.5, 48.0),
    ) as dst:
        dst.write(values, 1)
    return path


def test_planetographic_geotiff_is_not_relabelled(tmp_path: Path) -> None:
    tif = _planetographic_tif(tmp_path / "ographic.tif")
    dem = marsgis.open_dem(tif)
    crs = CRS.from_user_input(dem.rio.crs)
    with rasterio.open(tif) as ds:
        assert crs == CRS.from_user_input(ds.crs.to_wkt())  # the file's CRS, unchanged
    assert crs_code(crs) != "IAU_2015:49900"
    assert crs.ellipsoid is not None and crs.ellipsoid.semi_minor_metre == 3_376_200.0
    np.testing.assert_array_equal(dem["y"].values, 48.0 - 0.5 * (np.arange(12) + 0.5))
    kept = dem_from_array(dem.values, y=dem["y"].values, x=dem["x"].values, crs=crs)
    assert CRS.from_user_input(kept.rio.crs) == crs


def test_bbox_on_a_planetographic_grid_converts_latitudes_exactly(tmp_path: Path) -> None:
    dem = marsgis.open_dem(_planetographic_tif(tmp_path / "ographic.tif"), bbox=(12, 40, 14, 42))
    a, b = 3_396_190.0, 3_376_200.0
    south, north = (np.degrees(np.arctan(np.tan(np.radians(v)) * (a / b) ** 2)) for v in (40, 42))
    y = 48.0 - 0.5 * (np.arange(12) + 0.5)
    np.testing.assert_array_equal(dem["y"].values, y[(y >= south) & (y <= north)])


# ----------------------------------------------------------------------------- boundary errors


def _truncated(tmp_path: Path) -> Path:
    data = GALE_1M.read_bytes()
    bad = tmp_path / "TRUNCATED.tif"
    bad.write_bytes(data[: len(data) // 2])
    return bad


def test_truncated_geotiff_fails_with_our_error_inside_dask(tmp_path: Path) -> None:
    bad = _truncated(tmp_path)
    dem = marsgis.open_dem(bad)  # the header is intact: opening is lazy
    with pytest.raises(DataReadError, match=r"TRUNCATED\.tif.*download it again"):
        dem.mean().compute()


def test_truncated_geotiff_dem_info_prints_error(tmp_path: Path) -> None:
    bad = _truncated(tmp_path)
    result = CliRunner().invoke(main, ["dem", "info", str(bad)])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and "TRUNCATED.tif" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("source", "bbox"),
    [("mola", (10.0, 10.0, 10.1, 10.1)), ("gale-1m", (0.0, 0.0, 1.0, 1.0))],
)
def test_bbox_outside_any_dem_is_one_error(source: str, bbox: tuple[float, ...]) -> None:
    dem = marsgis.open_dem(source)
    w, s, e, n = (
        dem.rio.bounds()
        if CRS.from_user_input(dem.rio.crs).is_geographic
        else dem.rio.transform_bounds("IAU_2015:49900")
    )
    with pytest.raises(
        OutOfBoundsError, match=rf"bounds are \({w:.6g}, {s:.6g}, {e:.6g}, {n:.6g}\)"
    ):
        marsgis.open_dem(source, bbox=bbox)
