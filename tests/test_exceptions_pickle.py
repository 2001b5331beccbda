"""Every marsgis error survives the trip from a Dask worker to the client.

distributed sends a task's exception back pickled through tblib, which rebuilds it with
``cls.__new__(cls, *args)``; an error class with two built-in bases of different layouts
(``RuntimeError`` and ``OSError``) came back as a bare ``Exception`` before (a damaged DEM read
on a worker was no longer a :class:`~marsgis.exceptions.DataReadError`).
"""

from __future__ import annotations

import inspect

import pytest
from distributed.protocol.pickle import dumps, loads

import marsgis.exceptions as errors

CLASSES = sorted(
    (
        c
        for _, c in inspect.getmembers(errors, inspect.isclass)
        if issubclass(c, errors.MarsGISError)
    ),
    key=lambda c: c.__name__,
)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_error_pickles_through_tblib_intact(cls: type[errors.MarsGISError]) -> None:
    try:
        raise cls("cannot read 'x.tif': truncated; download it again")
    except errors.MarsGISError as exc:
        copy = loads(dumps(exc))
    assert type(copy) is cls
    assert str(copy) == "cannot read 'x.tif': truncated; download it again"


def test_a_damaged_read_on_a_worker_is_a_data_read_error(tmp_path: object) -> None:
    """A real local cluster computing a lazily read, truncated GeoTIFF."""
    import numpy as np
    import rasterio
    from distributed import Client
    from rasterio.transform import from_origin

    import marsgis

    path = f"{tmp_path}/small.tif"
    profile = {
        "driver": "GTiff",
        "height": 64,
        "width": 48,
        "count": 1,
        "dtype": "float32",
        "crs": "+proj=longlat +R=3396190 +no_defs",
        "transform": from_origin(137.0, -4.0, 0.01, 0.01),
        "tiled": True,
        "blockxsize": 16,
        "blockysize": 16,
        "compress": "deflate",
    }
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(np.random.default_rng(0).random((1, 64, 48), dtype=np.float32))
    dem = marsgis.open_dem(path, chunks=32)
    data = open(path, "rb").read()
    with open(path, "wb") as f:  # keep the header, damage the tiles
        f.write(data[: len(data) // 2] + b"\0" * (len(data) - len(data) // 2))
    with Client(processes=False, n_workers=1, dashboard_address=None, set_as_default=False) as c:
        with pytest.raises(errors.DataReadError, match="small.tif"):
            c.compute(dem.data).result()
