"""File to file without xarray or dask: the path ``marsgis terrain`` takes for GeoTIFF inputs.

:func:`stream_to_file` gives the result of :func:`marsgis.terrain.to_file` — the same pixels,
bit for bit, the same CRS, layout, metadata and summary — but for a plain single-band GeoTIFF
(or COG) it needs only rasterio, numpy and pyproj: the DEM is read in row bands one output tile
high with a one-row halo, each band goes through the kernel and is written at once, so memory
stays bounded by a few bands whatever the size. Three threads overlap the work: one reads band
k + 1 (straight into a reused float32 buffer; uncompressed input past GDAL's block cache), this
one runs the kernel on band k and gathers the output statistics, one writes band k − 1 (each
dataset is used by one thread only; GDAL and the kernels release the GIL).

The kernel is the cached numba kernel of :mod:`marsgis.terrain._kernels` (on one thread: the
writes bound the pipeline) or, up to ``_NUMPY_MAX_CELLS`` cells, its numpy twin in
:mod:`marsgis.terrain._numpy_kernels` (the same float32 values bit for bit), because importing
numba and loading a kernel costs a fresh process more than the work on a small DEM.

Everything else — shipped dataset names, PDS3/PDS4/ISIS3 products, URLs, hillshade, and any file
that :func:`marsgis.open_dem` would refuse (the refusal then comes from there, with its
message) — goes to :func:`~marsgis.terrain.to_file`.

The point is start-up: xarray, pandas, dask and rioxarray cost a command line call about a
second before any work, numba almost half a second more, against a few tenths for what this
module imports on a small DEM.
"""

from __future__ import annotations

import gc
import math
import os
import types
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from marsgis.crs import MARS_GEOGRAPHIC, cell_sizes_m, crs_code

__all__ = ["stream_to_file"]

#: product -> (kernel in marsgis.terrain._kernels, units, long_name): the labels that the
#: product functions give (tests/terrain/test_terrain_stream.py compares the files)
_DIRECT = {
    "slope": ("slope_kernel", "degrees", "slope"),
    "aspect": (
        "aspect_kernel",
        "degrees",
        "aspect (azimuth of the downslope direction, clockwise from north)",
    ),
    # open_dem's DEMs are in metres, and roughness keeps the DEM's units
    "roughness": ("roughness_kernel", "m", "roughness (max - min elevation of the 3x3 window)"),
}
_PREDICTOR_CODECS = ("deflate", "zstd", "lzw", "lzma")
_PDS3_SUFFIXES = {".lbl", ".img"}
#: rasters from this many cells on show a progress bar (when bars are on)
_BAR_CELLS = 1 << 24
#: rasters up to this many cells (2048²) run the numpy twins of the numba kernels
#: (:mod:`marsgis.terrain._numpy_kernels`, the same values bit for bit): below it the work takes
#: less time than importing numba and loading its cached kernel (about 0.4 s in a fresh process)
_NUMPY_MAX_CELLS = 1 << 22
#: bands read ahead of the one being computed
_AHEAD = 2
#: GDAL's block cache while streaming, unless GDAL_CACHEMAX is set
_CACHE_BYTES = 256 << 20

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class _Source:
    """What the direct path needs of a GeoTIFF DEM, read from its header."""

    path: str
    label: str
    shape: tuple[int, int]
    dtype: str
    nodata: float | None
    crs_wkt: str
    transform: Any
    geographic: bool
    kx: FloatArray
    ky: FloatArray
    wrap: bool


def stream_to_file(
    product: str,
    source: str | Path,
    out: str | Path,
    *,
    compress: str | None = "deflate",
    tiled: bool = True,
    blocksize: int = 512,
    **kwargs: Any,
) -> dict[str, Any]:
    """Compute a terrain product of the DEM file ``source`` into the GeoTIFF ``out``.

    Same arguments, result and errors as :func:`marsgis.terrain.to_file` (which it calls for
    any input it does not stream itself; see the module docstring). Progress is shown on
    stderr as :mod:`marsgis.progress` decides: rows of a large streamed DEM, or dask's bar.

    Examples
    --------
    >>> from marsgis.terrain.stream import stream_to_file
    >>> summary = stream_to_file("slope", "gale-1m", "gale-slope.tif")
    >>> summary["units"], summary["shape"], round(summary["max"], 1)
    ('degrees', [337, 348], 39.7)
    """
    codec = "none" if compress is None else str(compress).lower()
    target = Path(out).expanduser()
    # anything to_file refuses goes there, so the error and its message are to_file's
    layout_ok = (
        codec in (*_PREDICTOR_CODECS, "packbits", "lerc", "none")
        and blocksize >= 16
        and blocksize % 16 == 0
        and target.parent.is_dir()
        and not target.is_dir()
    )
    src = _direct_source(product, source, kwargs) if layout_ok else None
    if src is None:
        from marsgis.progress import dask_progress_bar
        from marsgis.terrain.files import to_file

        with dask_progress_bar(minimum=1.0):
            return to_file(
                product, source, out, compress=compress, tiled=tiled, blocksize=blocksize, **kwargs
            )
    return _stream(product, src, target, codec=codec, tiled=tiled, blocksize=blocksize)


def _direct_source(product: str, source: Any, kwargs: dict[str, Any]) -> _Source | None:
    """The header of ``source`` when the direct path gives ``to_file``'s result, else None."""
    if product not in _DIRECT or kwargs or not isinstance(source, (str, Path)):
        return None
    from marsgis.data import RASTERS

    text = str(source)
    if text in RASTERS or text.startswith(("http://", "https://", "s3://", "/vsi")):
        return None
    path = Path(text).expanduser()
    if path.suffix.lower() in _PDS3_SUFFIXES or not path.is_file():
        return None
    import rasterio
    from affine import Affine
    from pyproj import CRS

    from marsgis.crs import is_mars_crs, is_mars_lonlat_sphere

    try:
        with rasterio.open(path) as ds:
            if ds.driver != "GTiff" or ds.count != 1 or ds.crs is None or ds.subdatasets:
                return None
            shape, transform, nodata = (ds.height, ds.width), ds.transform, ds.nodata
            dtype = str(ds.dtypes[0])
            crs = CRS.from_user_input(ds.crs.to_wkt())
    except Exception:  # open_dem names the file and the fix
        return None
    ny, nx = shape
    if ny < 3 or nx < 3 or transform.b != 0 or transform.d != 0 or transform == Affine.identity():
        return None
    if not is_mars_crs(crs):
        return None
    if crs.is_geographic and is_mars_lonlat_sphere(crs):
        crs = CRS.from_user_input(MARS_GEOGRAPHIC)
    # the cell centres, computed as open_dem computes its coordinates
    xs, _ = transform * (np.arange(nx) + 0.5, np.zeros(nx) + 0.5)
    _, ys = transform * (np.zeros(ny) + 0.5, np.arange(ny) + 0.5)
    xs, ys = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
    dx = float((xs[-1] - xs[0]) / (nx - 1))
    dy = float((ys[-1] - ys[0]) / (ny - 1))
    if not (math.isfinite(dx) and math.isfinite(dy)) or dx == 0.0 or dy == 0.0:
        return None
    if crs.is_geographic and float(np.max(np.abs(ys))) > 90.0 + 1e-9:
        return None
    kx, ky = _coefficients(crs, ys, dx, dy)
    return _Source(
        path=str(path),
        label=text,
        shape=shape,
        dtype=dtype,
        nodata=None if nodata is None or math.isnan(nodata) else float(nodata),
        crs_wkt=crs.to_wkt(),
        transform=transform,
        geographic=bool(crs.is_geographic),
        kx=kx,
        ky=ky,
        wrap=bool(crs.is_geographic and abs(abs(dx) * nx - 360.0) < 1e-6),
    )


def _coefficients(crs: Any, ys: FloatArray, dx: float, dy: float) -> tuple[FloatArray, FloatArray]:
    """``1 / (8 dx)``, ``1 / (8 dy)`` per row in metres (:func:`marsgis.crs.cell_sizes_m`)."""
    dx_m, dy_m = cell_sizes_m(crs, ys, dx, dy)
    with np.errstate(divide="ignore"):
        kx = np.where(dx_m != 0.0, 1.0 / (8.0 * dx_m), np.nan)
    return kx, 1.0 / (8.0 * dy_m)


def _profile(src: _Source, *, codec: str, tiled: bool, blocksize: int) -> dict[str, Any]:
    """The GeoTIFF profile ``write_raster`` gives a float32 product of ``src``."""
    import rasterio.crs

    ny, nx = src.shape
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "height": ny,
        "width": nx,
        "count": 1,
        "dtype": "float32",
        "crs": rasterio.crs.CRS.from_wkt(src.crs_wkt),
        "transform": src.transform,
        "nodata": math.nan,
        "BIGTIFF": "IF_SAFER",
    }
    if tiled:
        profile.update(tiled=True, blockxsize=blocksize, blockysize=blocksize)
    else:
        profile.update(tiled=False, blockysize=min(blocksize, ny))
    if codec != "none":
        profile.update(compress=codec, num_threads="ALL_CPUS")
        if codec in _PREDICTOR_CODECS:
            profile["predictor"] = 3
        if codec == "deflate":
            profile["zlevel"] = 1
    return profile


def _stream(
    product: str, src: _Source, out: Path, *, codec: str, tiled: bool, blocksize: int
) -> dict[str, Any]:
    """Read, compute and write the DEM band by band, the three overlapping (see the module doc)."""
    import rasterio
    from rasterio.windows import Window

    from marsgis.io.atomic import atomic_path, check_geotiff

    kernel_name, units, long_name = _DIRECT[product]
    ny, nx = src.shape
    use_numba = ny * nx > _NUMPY_MAX_CELLS
    kx = np.concatenate(([np.nan], src.kx, [np.nan]))
    ky = np.concatenate(([np.nan], src.ky, [np.nan]))
    params = np.zeros(1, dtype=np.float64)
    profile = _profile(src, codec=codec, tiled=tiled, blocksize=blocksize)
    step = blocksize if tiled else profile["blockysize"]
    starts = range(0, ny, step)
    # band k is computed while bands k + 1 and k + 2 are read and band k - 1 is written
    halos = [np.empty((step + 2, nx), dtype=np.float32) for _ in range(_AHEAD + 1)]
    bands = [np.empty((step + 2, nx), dtype=np.float32) for _ in range(2)]
    parts: list[tuple[float, float, float, int]] = []
    # each block is read and written once: a bigger GDAL block cache only grows memory (256 MB
    # holds the input tile row that a band's halo shares with the next band, so a compressed
    # tile is decoded once). Uncompressed input is read straight from the file, past the cache
    # (GTIFF_DIRECT_IO: the same values, without a copy through fresh cache blocks).
    options: dict[str, Any] = {"GTIFF_DIRECT_IO": "YES"}
    if "GDAL_CACHEMAX" not in os.environ:
        options["GDAL_CACHEMAX"] = _CACHE_BYTES
    env = rasterio.Env(**options)
    with (
        env,
        rasterio.open(src.path) as ds,
        atomic_path(out, check=check_geotiff) as tmp,
        rasterio.open(tmp, "w", **profile) as dst,
    ):
        dst.update_tags(source=src.path)
        dst.set_band_description(1, long_name)
        dst.set_band_unit(1, units)
        bar = _rows_bar(ny * nx, ny, product)

        def write(part: np.ndarray[Any, np.dtype[np.float32]], r0: int) -> None:
            dst.write(part, 1, window=Window(0, r0, nx, part.shape[0]))

        # one reader and one writer thread (rasterio and the kernels release the GIL); each
        # dataset is used by one thread only. The kernel runs on this thread alone: it takes
        # less time than the writes, and more threads only compete with the I/O for the CPUs
        with (
            ThreadPoolExecutor(1, "marsgis-read") as reader,
            ThreadPoolExecutor(1, "marsgis-write") as writer,
            ExitStack() as stack,
        ):
            reading: deque[Future[np.ndarray[Any, np.dtype[np.float32]]]] = deque()

            def read(k: int) -> None:
                halo = halos[k % len(halos)]  # band k - 1's: its kernel is done
                reading.append(reader.submit(_read_band, ds, src, halo, starts[k], step))

            for k in range(min(_AHEAD, len(starts))):
                read(k)
            # the first bands are read while numba loads (GDAL releases the GIL)
            if use_numba:
                module = _numba_kernels(kernel_name)
                stack.enter_context(_one_numba_thread())
            else:
                from marsgis.terrain import _numpy_kernels as module
            kernel, nan_stats = getattr(module, kernel_name), module.nan_stats
            writing: list[Future[None] | None] = [None, None]
            for k, r0 in enumerate(starts):
                z = reading.popleft().result()
                if k + _AHEAD < len(starts):
                    read(k + _AHEAD)
                previous = writing[k % 2]
                if previous is not None:  # this band buffer's last write is done
                    previous.result()
                band = bands[k % 2][: z.shape[0]]
                kernel(
                    z, kx[r0 : r0 + z.shape[0]], ky[r0 : r0 + z.shape[0]], params, src.wrap, band
                )
                writing[k % 2] = writer.submit(write, band[1:-1], r0)
                parts.append(nan_stats(band[1:-1]))  # while the band is written
                bar.update(z.shape[0] - 2)
            for pending in writing:
                if pending is not None:
                    pending.result()
        bar.close()
    lo = min((p[0] for p in parts), default=math.inf)
    hi = max((p[1] for p in parts), default=-math.inf)
    total = sum(p[2] for p in parts)
    count = sum(p[3] for p in parts)
    empty = count == 0
    return {
        "product": product,
        "source": src.label,
        "output": str(out),
        "crs": crs_code(profile["crs"]),
        "shape": [ny, nx],
        "units": units,
        "min": math.nan if empty else float(lo),
        "max": math.nan if empty else float(hi),
        "mean": math.nan if empty else float(total) / int(count),
        "valid_cells": int(count),
    }


def _numba_kernels(kernel_name: str) -> types.ModuleType:
    """:mod:`marsgis.terrain._kernels`, with ``kernel_name`` and ``nan_stats`` loaded, GC paused.

    Importing numba and loading a cached kernel (numba builds its typing context) makes some
    hundred thousand objects, and the collections they trigger cost a fresh process about
    0.1-0.2 s; a first call here, on tiny arrays of the types ``_stream`` passes, loads each.
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        from marsgis.terrain import _kernels

        z = np.zeros((3, 3), dtype=np.float32)
        k = np.ones(3, dtype=np.float64)
        getattr(_kernels, kernel_name)(z, k, k, k[:1], False, np.empty_like(z))
        _kernels.nan_stats(z)
    finally:
        if paused:
            gc.enable()
    return _kernels


@contextmanager
def _one_numba_thread() -> Iterator[None]:
    """Run this thread's numba kernels on one thread (numba's setting is per thread)."""
    import numba

    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


#: source types whose every value float32 holds exactly: GDAL converts them while reading
_EXACT_IN_FLOAT32 = {"float32", "int8", "uint8", "int16", "uint16"}


def _read_band(
    ds: Any, src: _Source, buffer: np.ndarray[Any, np.dtype[np.float32]], r0: int, step: int
) -> np.ndarray[Any, np.dtype[np.float32]]:
    """Rows ``r0 - 1 .. r0 + step`` of the DEM as float32 (NaN beyond its edges and for nodata).

    Written into the leading rows of ``buffer``, which are returned (C-contiguous).
    """
    from rasterio.windows import Window

    from marsgis.exceptions import DataReadError

    ny, nx = src.shape
    r1 = min(ny, r0 + step)
    a, b = max(r0 - 1, 0), min(r1 + 1, ny)  # the band and its halo, within the grid
    z = buffer[: r1 - r0 + 2]
    top = a - (r0 - 1)
    rows = z[top : top + (b - a)]
    z[:top] = np.nan
    z[top + (b - a) :] = np.nan
    window = Window(0, a, nx, b - a)
    try:
        if src.dtype in _EXACT_IN_FLOAT32:
            ds.read(1, window=window, out=rows)
            if src.nodata is not None:
                np.copyto(rows, np.float32(np.nan), where=rows == src.nodata)
        else:
            raw = ds.read(1, window=window)
            values = raw.astype(np.promote_types(raw.dtype, np.float32))
            if src.nodata is not None:
                values[raw == src.nodata] = np.nan
            rows[...] = values
    except Exception as exc:
        raise DataReadError(
            f"cannot read {src.path!r}: {exc}. The file is damaged, truncated or not a "
            "raster GDAL reads; download it again (or check it with `gdalinfo -checksum`)"
        ) from exc
    return z


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _rows_bar(cells: int, rows: int, product: str) -> Any:
    """A bar over the rows of a large DEM when :mod:`marsgis.progress` draws bars (tqdm then)."""
    from marsgis.progress import enabled, progress_bar

    if cells < _BAR_CELLS or not enabled():
        return _NoBar()
    return progress_bar(total=rows, desc=product, unit="rows")
