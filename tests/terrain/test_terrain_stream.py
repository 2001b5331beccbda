"""``marsgis.terrain.stream``: the xarray-free file→file path gives ``to_file``'s file, bit for bit."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import rasterio

import marsgis
from marsgis.io.writers import write_dem
from marsgis.terrain import stream, to_file
from marsgis.terrain.stream import stream_to_file


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("stream")
    gale = marsgis.open_dem("gale-mola")
    out = {
        "geographic": write_dem(gale, folder / "gale.tif", compress=None),
        "global": write_dem(marsgis.open_dem("mola"), folder / "mola.tif"),
        "projected": write_dem(marsgis.open_dem("gale-1m"), folder / "gale-1m.tif"),
    }
    # int16 with a nodata value (a hole in the middle), in strips
    values = np.round(gale.values[:200, :300]).astype(np.int16)
    values[90:110, 140:160] = -32768
    path = folder / "int16.tif"
    profile = {
        "driver": "GTiff", "height": 200, "width": 300, "count": 1, "dtype": "int16",
        "crs": rasterio.crs.CRS.from_wkt(gale.rio.crs.to_wkt()),
        "transform": gale.isel(y=slice(0, 200), x=slice(0, 300)).rio.transform(recalc=True),
        "nodata": -32768,
    }  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(values, 1)
    out["int16-nodata"] = path
    # float64 (read as float64, then rounded to float32, as open_dem does) with nodata -9999
    path = folder / "float64.tif"
    values64 = gale.values[:150, :170].astype(np.float64) + 0.123456789
    values64[20:30, 40:45] = -9999.0
    with rasterio.open(
        path, "w", **{**profile, "dtype": "float64", "nodata": -9999.0, "height": 150, "width": 170}
    ) as dst:
        dst.write(values64, 1)
    out["float64-nodata"] = path
    return out


def _read(path: Path) -> tuple[np.ndarray, dict, dict, tuple, tuple]:
    with rasterio.open(path) as ds:
        profile = dict(ds.profile)
        assert math.isnan(profile.pop("nodata"))
        return ds.read(1), profile, ds.tags(), ds.descriptions, ds.units


@pytest.mark.parametrize("kernels", ["numpy", "numba"])
@pytest.mark.parametrize(
    "kind", ["geographic", "global", "projected", "int16-nodata", "float64-nodata"]
)
@pytest.mark.parametrize("product", ["slope", "aspect", "roughness"])
@pytest.mark.parametrize(("compress", "blocksize"), [("deflate", 512), (None, 64)])
def test_stream_writes_to_files_file(
    tmp_path: Path,
    inputs: dict[str, Path],
    kind: str,
    product: str,
    compress: str | None,
    blocksize: int,
    kernels: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # these DEMs are all small: the streaming path runs the numpy twins of the numba kernels;
    # with no cells allowed it runs the numba kernels, as on large DEMs. to_file: always numba.
    if kernels == "numba":
        monkeypatch.setattr(stream, "_NUMPY_MAX_CELLS", 0)
    ref = to_file(
        product, inputs[kind], tmp_path / "ref.tif", compress=compress, blocksize=blocksize
    )
    got = stream_to_file(
        product, inputs[kind], tmp_path / "got.tif", compress=compress, blocksize=blocksize
    )
    ref_v, ref_p, ref_t, ref_d, ref_u = _read(tmp_path / "ref.tif")
    got_v, got_p, got_t, got_d, got_u = _read(tmp_path / "got.tif")
    np.testing.assert_array_equal(got_v, ref_v)  # bit for bit, NaN where NaN
    assert (got_p, got_t, got_d, got_u) == (ref_p, ref_t, ref_d, ref_u)
    assert got.pop("output") == str(tmp_path / "got.tif")
    assert ref.pop("output") == str(tmp_path / "ref.tif")
    assert got.pop("mean") == pytest.approx(ref.pop("mean"), rel=1e-12)  # summation order
    assert got == ref
    assert got["valid_cells"] == int(np.count_nonzero(~np.isnan(ref_v)))


def test_stream_falls_back_for_what_it_does_not_stream(tmp_path: Path) -> None:
    # a shipped name and hillshade go through to_file: same summary
    got = stream_to_file("hillshade", "gale-mola", tmp_path / "hs.tif", azimuth=90.0)
    ref = to_file("hillshade", "gale-mola", tmp_path / "ref.tif", azimuth=90.0)
    assert {k: v for k, v in got.items() if k != "output"} == {
        k: v for k, v in ref.items() if k != "output"
    }


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"compress": "bogus"}, "compress='bogus'"),
        ({"blocksize": 24}, "blocksize=24"),
    ],
)
def test_stream_errors_are_to_files(
    tmp_path: Path, inputs: dict[str, Path], kwargs: dict, match: str
) -> None:
    with pytest.raises(marsgis.exceptions.ValidationError, match=match):
        stream_to_file("slope", inputs["geographic"], tmp_path / "x.tif", **kwargs)
    with pytest.raises(marsgis.exceptions.ValidationError, match="unknown terrain product"):
        stream_to_file("curvature", inputs["geographic"], tmp_path / "x.tif")
