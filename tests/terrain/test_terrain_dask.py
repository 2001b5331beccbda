"""dask-backed DEMs go through map_overlap and give exactly the in-memory results."""

from __future__ import annotations

import numpy as np
import pytest

import marsgis
import marsgis.terrain as terrain

PRODUCTS = ["slope", "aspect", "roughness", "hillshade"]


@pytest.mark.parametrize("product", PRODUCTS)
@pytest.mark.parametrize(
    ("name", "chunks"),
    [
        ("gale-mola", {"y": 100, "x": 128}),
        ("mola", {"y": 97, "x": 250}),  # uneven chunks; 0°/360° columns in different blocks
        ("gale-1m", {"y": 50, "x": 64}),
    ],
)
def test_dask_equals_in_memory_exactly(name, chunks, product) -> None:
    dem = marsgis.open_dem(name).compute()
    lazy = dem.chunk(chunks)
    func = getattr(terrain, product)
    result = func(lazy)
    assert result.chunks is not None  # still lazy
    assert result.data.chunks == lazy.data.chunks
    np.testing.assert_array_equal(result.values, func(dem).values)


def test_dask_wrap_across_the_meridian_between_chunks(mola) -> None:
    lazy = mola.chunk({"y": 180, "x": 360})  # column 0 and column 1439 in different blocks
    eager = terrain.slope(mola).values
    lazy_values = terrain.slope(lazy).values
    np.testing.assert_array_equal(lazy_values[:, [0, 1439]], eager[:, [0, 1439]])
    assert np.isfinite(lazy_values[1:-1, [0, 1439]]).all()
    # block edges inside the grid are not edges of the result
    assert np.isfinite(lazy_values[[179, 180, 359, 360], 1:-1]).all()


def test_dask_per_block_latitude(mola) -> None:
    # each row block must use its own rows' cos(lat): one block per row band
    lazy = mola.chunk({"y": 7, "x": 1440})
    np.testing.assert_array_equal(terrain.slope(lazy).values, terrain.slope(mola).values)


def test_open_dem_lazy_geotiff_is_dask_and_matches(gale_1m) -> None:
    lazy = marsgis.open_dem("gale-1m")  # GeoTIFFs open lazily
    assert lazy.chunks is not None
    np.testing.assert_array_equal(terrain.slope(lazy).values, terrain.slope(gale_1m).values)
