"""The raster contract: new DataArray, same grid/coords/attrs, name=, no mutation, errors."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from pyproj import CRS

import marsgis
import marsgis.terrain as terrain
from marsgis.exceptions import (
    BodyMismatchError,
    MissingCRSError,
    ValidationError,
)

PRODUCTS = {
    "slope": "degrees",
    "aspect": "degrees",
    "roughness": "m",
    "hillshade": "1",
}


@pytest.mark.parametrize("product", PRODUCTS)
@pytest.mark.parametrize("name", ["mola", "gale-1m"])
def test_input_untouched_and_grid_kept(name, product) -> None:
    dem = marsgis.open_dem(name).compute()
    before = dem.copy(deep=True)
    out = getattr(terrain, product)(dem)
    xr.testing.assert_identical(dem, before)  # values, coords, attrs, name
    assert out is not dem
    assert out.dims == ("y", "x")
    assert out.dtype == np.float32
    xr.testing.assert_identical(out.coords.to_dataset(), dem.coords.to_dataset())
    assert out.rio.crs == dem.rio.crs
    assert out.rio.transform() == dem.rio.transform()
    assert out.attrs["units"] == PRODUCTS[product]
    kept = {
        k: v
        for k, v in dem.attrs.items()
        if k not in {"units", "long_name", "scale_factor", "add_offset"}
    }
    assert {k: out.attrs[k] for k in kept} == kept
    assert out.name == product


def test_name_kwarg(gale_mola) -> None:
    assert terrain.slope(gale_mola, name="gale_slope").name == "gale_slope"
    assert terrain.hillshade(gale_mola, name=None).name is None


def test_accessor_forwards(gale_mola) -> None:
    xr.testing.assert_identical(gale_mola.mars.slope(), terrain.slope(gale_mola))
    xr.testing.assert_identical(
        gale_mola.mars.hillshade(azimuth=90.0), terrain.hillshade(gale_mola, azimuth=90.0)
    )
    w, _ = gale_mola.mars.cell_size()
    xr.testing.assert_identical(w, terrain.cell_size(gale_mola).width)


def test_other_dtypes_give_the_float32_result(gale_mola) -> None:
    expected = terrain.slope(gale_mola).values
    as_int = gale_mola.astype(np.int16)  # the grid holds integer metres
    as_f64 = gale_mola.astype(np.float64)
    np.testing.assert_array_equal(terrain.slope(as_int).values, expected)
    np.testing.assert_array_equal(terrain.slope(as_f64).values, expected)


def test_nodata_poisons_its_3x3_window(gale_1m) -> None:
    holed = gale_1m.copy(deep=True)
    holed.values[100, 200] = np.nan
    s = terrain.slope(holed).values
    assert np.isnan(s[99:102, 199:202]).all()
    assert np.isfinite(s[[98, 102], 200]).all()
    assert np.isfinite(s[100, [198, 202]]).all()


@pytest.mark.parametrize("product", PRODUCTS)
def test_wrong_dims_raise(gale_mola, product) -> None:
    func = getattr(terrain, product)
    with pytest.raises(ValidationError, match=r"dims \('y', 'x'\)"):
        func(gale_mola.transpose("x", "y"))
    with pytest.raises(ValidationError, match="rename"):
        func(gale_mola.rename({"y": "lat", "x": "lon"}))
    with pytest.raises(ValidationError, match="DataArray"):
        func(gale_mola.values)


def test_missing_crs_raises(gale_mola) -> None:
    bare = xr.DataArray(
        gale_mola.values, dims=("y", "x"), coords={"y": gale_mola.y.values, "x": gale_mola.x.values}
    )
    for func in (
        terrain.slope,
        terrain.aspect,
        terrain.roughness,
        terrain.hillshade,
        terrain.cell_size,
    ):
        with pytest.raises(MissingCRSError, match="write_crs"):
            func(bare)


def test_earth_crs_raises(gale_mola) -> None:
    earth = gale_mola.rio.write_crs(CRS.from_epsg(4326).to_wkt())
    with pytest.raises(BodyMismatchError, match="not a Mars CRS"):
        terrain.slope(earth)


def test_too_small_and_uneven_grids_raise(gale_mola) -> None:
    with pytest.raises(ValidationError, match="3×3"):
        terrain.slope(gale_mola.isel(y=slice(0, 2)))
    uneven = gale_mola.isel(x=[0, 1, 2, 4, 5, 6])
    with pytest.raises(ValidationError, match="evenly spaced"):
        terrain.slope(uneven)


def test_hillshade_rejects_bad_light(gale_mola) -> None:
    with pytest.raises(ValidationError, match="altitude=100"):
        terrain.hillshade(gale_mola, altitude=100)
    with pytest.raises(ValidationError, match="azimuth=nan"):
        terrain.hillshade(gale_mola, azimuth=float("nan"))


def test_hillshade_z_factor_steepens(gale_mola) -> None:
    flat_light = terrain.hillshade(gale_mola, altitude=90.0).values
    steeper = terrain.hillshade(gale_mola, altitude=90.0, z_factor=3.0).values
    # sun overhead: brightness is 1 + 254 cos(slope), lower where slopes are exaggerated
    s = np.radians(terrain.slope(gale_mola).values)
    np.testing.assert_allclose(flat_light, 1 + 254 * np.cos(s), atol=2e-3)
    s3 = np.arctan(3 * np.tan(s))
    np.testing.assert_allclose(steeper, 1 + 254 * np.cos(s3), atol=2e-3)
