"""write_dem and to_file: GeoTIFFs in the source's Mars CRS, read back with rasterio."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from pyproj import CRS

import marsgis
import marsgis.terrain as terrain
from marsgis.crs import MARS_GEOGRAPHIC
from marsgis.exceptions import BodyMismatchError, ValidationError
from marsgis.io.writers import write_dem


def test_write_dem_lazy_gale_1m_round_trips(tmp_path, gale_1m_tif) -> None:
    dem = marsgis.open_dem("gale-1m")  # dask-backed
    out = write_dem(dem, tmp_path / "gale.tif")
    with rasterio.open(out) as ds, rasterio.open(gale_1m_tif) as src:
        assert ds.crs == src.crs
        assert ds.transform == src.transform
        assert ds.profile["tiled"] is True
        assert ds.profile["compress"] == "deflate"
        assert ds.tags(ns="IMAGE_STRUCTURE")["PREDICTOR"] == "3"  # floating point
        assert np.isnan(ds.nodata)
        assert ds.units == ("m",)
        np.testing.assert_array_equal(ds.read(1), src.read(1, masked=True).filled(np.nan))


def test_write_dem_global_mola_keeps_the_mars_geographic_crs(tmp_path, mola) -> None:
    out = write_dem(mola, tmp_path / "mola.tif", compress="zstd")
    back = marsgis.open_dem(out)
    assert CRS.from_user_input(back.rio.crs) == CRS.from_user_input(MARS_GEOGRAPHIC)
    np.testing.assert_array_equal(back.values, mola.values)
    np.testing.assert_array_equal(back["x"].values, mola["x"].values)
    np.testing.assert_array_equal(back["y"].values, mola["y"].values)


def test_nan_is_written_as_nodata(tmp_path, gale_1m) -> None:
    s = terrain.slope(gale_1m)
    out = write_dem(s, tmp_path / "slope.tif", compress=None)
    with rasterio.open(out) as ds:
        assert ds.profile.get("compress") is None
        masked = ds.read(1, masked=True)
        assert masked.mask[0].all() and masked.mask[:, -1].all()
        assert not masked.mask[1:-1, 1:-1].any()
        assert ds.descriptions == ("slope",)
        assert ds.units == ("degrees",)
        np.testing.assert_array_equal(ds.read(1), s.values)


def test_unaligned_chunks_are_realigned_to_tiles(tmp_path, gale_mola) -> None:
    lazy = gale_mola.chunk({"y": 300, "x": 250})
    out = write_dem(terrain.slope(lazy), tmp_path / "s.tif", blocksize=128)
    with rasterio.open(out) as ds:
        assert ds.block_shapes == [(128, 128)]
        np.testing.assert_array_equal(ds.read(1), terrain.slope(gale_mola).values)


def test_strips_when_not_tiled(tmp_path, gale_mola) -> None:
    out = write_dem(gale_mola.chunk({"y": 200, "x": 200}), tmp_path / "s.tif", tiled=False)
    with rasterio.open(out) as ds:
        assert ds.profile["tiled"] is False
        np.testing.assert_array_equal(ds.read(1), gale_mola.values)


def test_write_dem_errors(tmp_path, gale_mola) -> None:
    with pytest.raises(ValidationError, match="does not exist"):
        write_dem(gale_mola, tmp_path / "missing" / "x.tif")
    with pytest.raises(ValidationError, match="compress='jpeg'"):
        write_dem(gale_mola, tmp_path / "x.tif", compress="jpeg")
    with pytest.raises(ValidationError, match="blocksize=100"):
        write_dem(gale_mola, tmp_path / "x.tif", blocksize=100)
    with pytest.raises(ValidationError, match=r"dims \('y', 'x'\)"):
        write_dem(gale_mola.transpose("x", "y"), tmp_path / "x.tif")
    earth = gale_mola.rio.write_crs(CRS.from_epsg(4326).to_wkt())
    with pytest.raises(BodyMismatchError):
        write_dem(earth, tmp_path / "x.tif")


@pytest.mark.parametrize("product", ["slope", "aspect", "roughness", "hillshade"])
def test_to_file_summary_matches_the_written_values(tmp_path, product) -> None:
    summary = terrain.to_file(product, "gale-mola", tmp_path / "p.tif")
    expected = getattr(terrain, product)(marsgis.open_dem("gale-mola")).values
    with rasterio.open(summary["output"]) as ds:
        np.testing.assert_array_equal(ds.read(1), expected)
    assert summary["product"] == product
    assert summary["crs"] == MARS_GEOGRAPHIC
    assert summary["shape"] == [897, 897]
    assert summary["min"] == float(np.nanmin(expected))
    assert summary["max"] == float(np.nanmax(expected))
    assert summary["mean"] == pytest.approx(
        float(np.nanmean(expected.astype(np.float64))), rel=1e-12
    )
    assert summary["valid_cells"] == int(np.isfinite(expected).sum())


def test_to_file_unknown_product(tmp_path) -> None:
    with pytest.raises(ValidationError, match="'curvature'"):
        terrain.to_file("curvature", "gale-mola", tmp_path / "p.tif")


def test_integer_dem_round_trips_with_the_integer_predictor(tmp_path, mola) -> None:
    as_int = mola.astype(np.int16)  # MEGDR heights are integer metres
    out = write_dem(as_int, tmp_path / "mola-i16.tif")
    with rasterio.open(out) as ds:
        assert ds.dtypes == ("int16",)
        assert ds.tags(ns="IMAGE_STRUCTURE")["PREDICTOR"] == "2"
        np.testing.assert_array_equal(ds.read(1), as_int.values)
