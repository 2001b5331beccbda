"""Sliding-window raster classification against direct per-tile forwards; dask against numpy."""

from __future__ import annotations

from typing import Any

import dask
import numpy as np
import pytest
import torch
import xarray as xr

import marsgis
import marsgis.ml
import marsgis.terrain
from marsgis.exceptions import ValidationError
from marsgis.ml.datasets import HIRISE_LANDMARKS_DIR, read_image, read_labels
from marsgis.ml.inference import tile_starts


def _mosaic(rows: int, cols: int) -> tuple[np.ndarray, list[str]]:
    """A rows×cols mosaic of real 227-px HiRISE crops (uint8), and the crops' file names."""
    records = [r for r in read_labels() if r.augmentation is None][::37][: rows * cols]
    tiles = [read_image(HIRISE_LANDMARKS_DIR / "images" / r.filename) for r in records]
    grid = np.block([[tiles[i * cols + j] for j in range(cols)] for i in range(rows)])
    return grid, [r.filename for r in records]


def _da(values: np.ndarray) -> xr.DataArray:
    ny, nx = values.shape
    da = xr.DataArray(
        values,
        dims=("y", "x"),
        coords={"y": 1000.0 - 5.0 * np.arange(ny), "x": 200.0 + 5.0 * np.arange(nx)},
        name="image",
    )
    return da.rio.write_crs("IAU_2015:49910")


def test_tile_starts_cover_the_axis() -> None:
    for n, t, s in [
        (681, 227, 227),
        (681, 227, 113),
        (500, 227, 100),
        (100, 227, 50),
        (227, 227, 1),
    ]:
        starts = tile_starts(n, t, s)
        covered = np.zeros(max(n, t), dtype=bool)
        for a in starts:
            covered[a : a + t] = True
        assert covered[:n].all()
        assert starts[-1] == max(0, n - t)
        assert np.all(np.diff(starts) <= s)


def test_non_overlapping_tiles_equal_direct_forward(shipped: Any) -> None:
    grid, names = _mosaic(2, 3)
    out = marsgis.ml.classify_raster(_da(grid), shipped, tile=227, stride=227, probabilities=True)
    direct = shipped.predict([HIRISE_LANDMARKS_DIR / "images" / n for n in names])
    for i in range(2):
        for j in range(3):
            block = (slice(227 * i, 227 * (i + 1)), slice(227 * j, 227 * (j + 1)))
            k = i * 3 + j
            assert np.all(out["class"].values[block] == direct.class_ids[k])
            np.testing.assert_allclose(
                out["confidence"].values[block], direct.confidence[k], atol=1e-6
            )
            probs = out["probability"].values[:, block[0], block[1]]
            np.testing.assert_allclose(
                probs,
                np.broadcast_to(direct.probabilities[k][:, None, None], probs.shape),
                atol=1e-6,
            )
    # same grid, CRS and coordinates as the input
    assert out["class"].dims == ("y", "x")
    np.testing.assert_array_equal(out["y"].values, _da(grid)["y"].values)
    assert out.rio.crs == _da(grid).rio.crs
    assert out["class"].attrs["classes"] == list(shipped.classes)


def test_overlapping_tiles_average_the_covering_tiles(shipped: Any) -> None:
    grid, _ = _mosaic(2, 2)
    img = grid[:400, :430]  # 400 × 430: not a multiple of the stride
    out = marsgis.ml.classify_raster(_da(img), shipped, tile=160, stride=70, probabilities=True)
    rows, cols = tile_starts(400, 160, 70), tile_starts(430, 160, 70)
    x = torch.from_numpy(img.astype(np.float32) / 255.0)
    for py, px in [(0, 0), (75, 75), (150, 300), (399, 429), (200, 140), (239, 269)]:
        covering = [
            x[a : a + 160, b : b + 160]
            for a in rows
            for b in cols
            if a <= py < a + 160 and b <= px < b + 160
        ]
        probs = shipped.probabilities(torch.stack(covering)[:, None]).numpy()
        expected = probs.mean(axis=0)
        np.testing.assert_allclose(out["probability"].values[:, py, px], expected, atol=1e-5)
        assert out["class"].values[py, px] == int(np.argmax(expected))
        assert out["confidence"].values[py, px] == pytest.approx(float(expected.max()), abs=1e-5)


def test_dask_equals_in_memory_and_nodata(shipped: Any) -> None:
    grid, _ = _mosaic(3, 3)
    img = grid.astype(np.float32) / 255.0
    img[:60, :90] = np.nan  # a nodata corner
    img[300:310, 400:420] = np.nan
    base = _da(img)
    ref = marsgis.ml.classify_raster(base, shipped, stride=100, probabilities=True)
    lazy = marsgis.ml.classify_raster(
        base.chunk({"y": 250, "x": 300}), shipped, stride=100, probabilities=True
    )
    assert isinstance(lazy["class"].data, dask.array.Array)
    got = lazy.compute(scheduler="threads")
    np.testing.assert_array_equal(got["class"].values, ref["class"].values)
    np.testing.assert_allclose(got["probability"].values, ref["probability"].values, atol=1e-5)
    np.testing.assert_allclose(got["confidence"].values, ref["confidence"].values, atol=1e-5)
    nodata = np.isnan(img)
    assert np.all(ref["class"].values[nodata] == -1)
    assert np.all(np.isnan(ref["confidence"].values[nodata]))
    assert np.all(ref["class"].values[~nodata] >= 0)
    # uint8 input scaled by its default range gives the same classes as float [0, 1]
    as_u8 = marsgis.ml.classify_raster(_da(grid), shipped, stride=100)
    floats = marsgis.ml.classify_raster(_da(grid.astype(np.float32) / 255.0), shipped, stride=100)
    np.testing.assert_array_equal(as_u8["class"].values, floats["class"].values)


def test_small_chunks_are_enlarged_to_the_halo(shipped: Any) -> None:
    grid, _ = _mosaic(2, 2)
    base = _da(grid[:300, :454])
    ref = marsgis.ml.classify_raster(base, shipped, tile=100, stride=50)
    lazy = marsgis.ml.classify_raster(base.chunk({"y": 40, "x": 64}), shipped, tile=100, stride=50)
    np.testing.assert_array_equal(lazy["class"].values, ref["class"].values)


def test_gpu_resources_are_annotated_on_request(shipped: Any) -> None:
    grid, _ = _mosaic(2, 2)
    lazy = _da(grid).chunk({"y": 227, "x": 227})
    annotated = marsgis.ml.classify_raster(lazy, shipped, gpu_resources=True)
    plain = marsgis.ml.classify_raster(lazy, shipped, gpu_resources=False)

    def resources(ds: xr.Dataset) -> list[Any]:
        graph = ds["class"].data.__dask_graph__()
        return [layer.annotations for layer in graph.layers.values() if layer.annotations]

    assert {"resources": {"GPU": 1}} in resources(annotated)
    assert resources(plain) == []
    # no distributed client here: automatic detection says no GPU workers
    assert marsgis.ml.inference.gpu_workers_available() is False
    # the CPU path is the one CI runs
    assert marsgis.ml.default_device() == ("cuda" if torch.cuda.is_available() else "cpu")
    assert shipped.device.type == "cpu"


def test_hillshade_of_a_real_dem_is_classified_on_its_grid(shipped: Any) -> None:
    dem = marsgis.open_dem("gale-mola").isel(y=slice(0, 300), x=slice(0, 260))
    shade = marsgis.terrain.hillshade(dem)
    out = marsgis.ml.classify_raster(shade, shipped, tile=64, stride=32, value_range=(0, 255))
    assert out["class"].shape == dem.shape
    np.testing.assert_array_equal(out["x"].values, dem["x"].values)
    assert out.rio.crs == dem.rio.crs
    valid = np.isfinite(shade.values)
    assert np.all(out["class"].values[~valid] == -1)
    assert np.all((out["confidence"].values[valid] > 0) & (out["confidence"].values[valid] <= 1))


def test_bad_arguments_name_the_fix(shipped: Any) -> None:
    img = _da(np.zeros((50, 50), dtype=np.float32))
    with pytest.raises(
        ValidationError, match=r"stride=300 must be between 1 and the tile size 227"
    ):
        marsgis.ml.classify_raster(img, shipped, stride=300)
    with pytest.raises(ValidationError, match=r"select one band"):
        marsgis.ml.classify_raster(img.expand_dims(band=[1]), shipped)
    with pytest.raises(ValidationError, match=r"pass value_range"):
        marsgis.ml.classify_raster(img.astype(np.int32), shipped)


def test_wrong_shapes_and_types_are_validation_errors(shipped: Any) -> None:
    """Not an AttributeError from inside: the shape or type and what is accepted."""
    with pytest.raises(ValidationError) as info:
        marsgis.ml.classify_raster(np.zeros((3, 100, 100)), shipped)
    assert str(info.value) == (
        "classify_raster needs a 2-D greyscale image, got a numpy array of shape (3, 100, 100); "
        "select one band, e.g. image.isel(band=0) or array[0]"
    )
    with pytest.raises(ValidationError, match=r"numpy array of shape \(100,\); give a 2-D image"):
        marsgis.ml.classify_raster(np.zeros(100), shipped)
    with pytest.raises(ValidationError, match=r"got an object of type 'list'"):
        marsgis.ml.classify_raster([[0.0, 1.0]], shipped)


def test_a_2d_numpy_array_is_classified_like_its_dataarray(shipped: Any) -> None:
    grid, _ = _mosaic(1, 2)
    from_numpy = marsgis.ml.classify_raster(grid, shipped, stride=227)
    from_da = marsgis.ml.classify_raster(_da(grid), shipped, stride=227)
    assert from_numpy["class"].dims == ("y", "x")
    np.testing.assert_array_equal(from_numpy["class"].values, from_da["class"].values)
    np.testing.assert_array_equal(from_numpy["confidence"].values, from_da["confidence"].values)
