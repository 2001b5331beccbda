"""Write DEMs and derived rasters as GeoTIFFs in their Mars CRS.

Lazy (dask) arrays are streamed: each chunk is computed and written into its window of one
open GeoTIFF under a lock, so memory stays bounded by a few chunks whatever the raster size.
Compression uses GDAL's worker threads (``NUM_THREADS``).
"""

from __future__ import annotations

import math
import os
import threading
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rioxarray  # noqa: F401  (registers .rio)
import xarray as xr
from numba import njit
from rasterio.env import get_gdal_config
from rasterio.windows import Window

from marsgis.crs import require_mars_crs
from marsgis.exceptions import ValidationError
from marsgis.io.atomic import atomic_path, check_geotiff

__all__ = ["RasterStats", "write_dem"]

_COMPRESSION = ("deflate", "zstd", "lzw", "lzma", "packbits", "lerc", "none")
_PREDICTOR_CODECS = ("deflate", "zstd", "lzw", "lzma")
#: attrs that are encoding details, or written as band properties rather than tags
_SKIP_TAGS = {
    "_FillValue",
    "missing_value",
    "scale_factor",
    "add_offset",
    "units",
    "long_name",
    "grid_mapping",
    "coordinates",
}
#: target number of cells per strip when writing an in-memory array
_STRIP_CELLS = 1 << 22
#: GDAL block cache while streaming (each block is read and written once: a bigger cache only
#: grows memory; GDAL's default is 5% of RAM)
_STREAM_CACHE_BYTES = 256 << 20


@dataclass(frozen=True)
class RasterStats:
    """Statistics of the valid (non-NaN) cells written, gathered while writing."""

    minimum: float
    maximum: float
    mean: float
    count: int


@njit(cache=True, nogil=True)
def _block_stats(x):  # type: ignore[no-untyped-def]
    """``(min, max, sum, count)`` of the non-NaN values of a 2-D block (float64 sum)."""
    lo = np.inf
    hi = -np.inf
    total = 0.0
    count = 0
    ny, nx = x.shape
    for r in range(ny):
        for j in range(nx):
            v = np.float64(x[r, j])
            if not np.isnan(v):
                lo = min(lo, v)
                hi = max(hi, v)
                total += v
                count += 1
    return lo, hi, total, count


def _stats_of(block: np.ndarray[Any, Any]) -> tuple[float, float, float, int]:
    if block.dtype.kind not in "fiu" or block.size == 0:
        return math.inf, -math.inf, 0.0, 0
    lo, hi, total, count = _block_stats(block)
    return float(lo), float(hi), float(total), int(count)


class _Accumulator:
    def __init__(self) -> None:
        self.lo = math.inf
        self.hi = -math.inf
        self.total = 0.0
        self.count = 0

    def add(self, part: tuple[float, float, float, int]) -> None:
        lo, hi, total, count = part
        self.lo = min(self.lo, lo)
        self.hi = max(self.hi, hi)
        self.total += total
        self.count += count

    def result(self) -> RasterStats:
        if self.count == 0:
            return RasterStats(math.nan, math.nan, math.nan, 0)
        return RasterStats(self.lo, self.hi, self.total / self.count, self.count)


class _WindowSink:
    """Writes blocks into their windows of one open dataset, under a lock."""

    def __init__(self, dst: Any, dtype: np.dtype[Any], stats: _Accumulator | None) -> None:
        self._dst = dst
        self._dtype = dtype
        self._stats = stats
        self._lock = threading.Lock()

    def write(self, rows: tuple[int, int], cols: tuple[int, int], block: Any) -> None:
        data = np.ascontiguousarray(block, dtype=self._dtype)
        window = Window(cols[0], rows[0], cols[1] - cols[0], rows[1] - rows[0])
        part = _stats_of(data) if self._stats is not None else None
        with self._lock:
            if self._stats is not None and part is not None:
                self._stats.add(part)
            self._dst.write(data, 1, window=window)


def _write_dask(arr: Any, sink: _WindowSink) -> None:
    """Compute ``arr`` block by block in this process's threads, writing each block at once."""
    import dask.array
    import dask.threaded

    def write_block(
        block: np.ndarray[Any, Any], block_info: dict[Any, Any] | None = None
    ) -> np.ndarray[Any, Any]:
        if block_info is not None:
            rows, cols = block_info[0]["array-location"]
            sink.write(rows, cols, block)
        return np.ones((1, 1), dtype=np.int64)

    nby, nbx = arr.numblocks
    done = dask.array.map_blocks(
        write_block,
        arr,
        chunks=((1,) * nby, (1,) * nbx),
        dtype=np.int64,
        meta=np.array((), dtype=np.int64),
    )
    # Reduce the per-block results through a tree, not one final concatenation: then
    # dask.order finishes the neighbourhood of each block before reading further ahead.
    # Without it, streaming the slope of a 32768×16384 grid peaked at 2.5 GB, not 0.7 GB.
    # The scheduler is given as a callable: the string "threads" makes dask import
    # distributed (0.3 s) to look for a client.
    written = int(done.sum().compute(scheduler=dask.threaded.get))
    assert written == nby * nbx, f"wrote {written} of {nby * nbx} blocks"


def _aligned_chunks(chunks: tuple[int, ...], size: int, block: int) -> tuple[int, ...] | None:
    """Chunks along one axis whose boundaries fall on multiples of ``block`` (None: already)."""
    if all(c % block == 0 for c in chunks[:-1]):
        return None
    step = max(block, (max(chunks) // block) * block)
    out = [step] * (size // step)
    if size % step:
        out.append(size % step)
    return tuple(out)


def _profile(
    da: xr.DataArray,
    dtype: np.dtype[Any],
    *,
    compress: str,
    tiled: bool,
    blocksize: int,
    predictor: int | str | None,
    zlevel: int | None,
    num_threads: int | str,
) -> dict[str, Any]:
    ny, nx = da.shape
    if np.issubdtype(dtype, np.floating):
        nodata: float | None = math.nan
    else:
        nodata = da.rio.nodata if da.rio.nodata is not None else da.rio.encoded_nodata
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "height": ny,
        "width": nx,
        "count": 1,
        "dtype": dtype.name,
        "crs": da.rio.crs,
        "transform": da.rio.transform(recalc=True),
        "nodata": nodata,
        "BIGTIFF": "IF_SAFER",
    }
    if tiled:
        profile.update(tiled=True, blockxsize=blocksize, blockysize=blocksize)
    else:
        profile.update(tiled=False, blockysize=min(blocksize, ny))
    if compress != "none":
        profile.update(compress=compress, num_threads=str(num_threads))
        if predictor == "auto":
            predictor = 3 if np.issubdtype(dtype, np.floating) else 2
        if predictor is not None and compress in _PREDICTOR_CODECS:
            profile["predictor"] = int(predictor)
        if zlevel is not None and compress == "deflate":
            profile["zlevel"] = zlevel
    return profile


def _bounded_cache() -> AbstractContextManager[Any]:
    """Cap GDAL's block cache at 256 MB while streaming, unless GDAL_CACHEMAX is set."""
    if "GDAL_CACHEMAX" in os.environ:
        return nullcontext()
    current = get_gdal_config("GDAL_CACHEMAX")
    if isinstance(current, int) and current <= _STREAM_CACHE_BYTES:
        return nullcontext()
    return rasterio.Env(GDAL_CACHEMAX=_STREAM_CACHE_BYTES)


def _write_metadata(dst: Any, da: xr.DataArray) -> None:
    tags = {
        str(k): str(v)
        for k, v in da.attrs.items()
        if k not in _SKIP_TAGS and isinstance(v, (str, int, float, np.number))
    }
    if tags:
        dst.update_tags(**tags)
    description = da.attrs.get("long_name") or da.name
    if description is not None:
        dst.set_band_description(1, str(description))
    if "units" in da.attrs:
        dst.set_band_unit(1, str(da.attrs["units"]))
    # raw values with an encoding scale keep it (as rioxarray's to_raster does)
    scale = da.attrs.get("scale_factor")
    offset = da.attrs.get("add_offset")
    if isinstance(scale, (int, float)) and scale != 1:
        dst.scales = (float(scale),)
    if isinstance(offset, (int, float)) and offset != 0:
        dst.offsets = (float(offset),)


def _check(
    da: xr.DataArray, path: str | Path, blocksize: int, compress: str | None
) -> tuple[Path, str]:
    if not isinstance(da, xr.DataArray):
        raise ValidationError(f"write_dem needs an xarray.DataArray, got {type(da).__name__!r}")
    if da.dims != ("y", "x"):
        raise ValidationError(
            f"write_dem writes one band with dims ('y', 'x'), got {da.dims!r}; "
            "select a band or rename the dims first"
        )
    require_mars_crs(da.rio.crs, what=f"raster {da.name!r}")
    out = Path(path).expanduser()
    if not out.parent.is_dir():
        raise ValidationError(
            f"cannot write {str(out)!r}: folder {str(out.parent)!r} does not exist; create it first"
        )
    if out.is_dir():
        raise ValidationError(f"cannot write {str(out)!r}: it is a folder; give a .tif file path")
    codec = "none" if compress is None else str(compress).lower()
    if codec not in _COMPRESSION:
        raise ValidationError(f"compress={compress!r} is not one of {list(_COMPRESSION)} or None")
    if blocksize < 16 or blocksize % 16:
        raise ValidationError(f"blocksize={blocksize!r} must be a positive multiple of 16")
    return out, codec


def _check_options(predictor: Any, zlevel: Any) -> None:
    if predictor not in (None, "auto", 1, 2, 3):
        raise ValidationError(f"predictor={predictor!r} must be 'auto', None, 1, 2 or 3")
    if zlevel is not None and (not isinstance(zlevel, int) or not 1 <= zlevel <= 12):
        raise ValidationError(f"zlevel={zlevel!r} must be an integer deflate level 1-12 or None")


def write_raster(
    da: xr.DataArray,
    path: str | Path,
    *,
    compress: str | None = "deflate",
    tiled: bool = True,
    blocksize: int = 512,
    predictor: int | str | None = "auto",
    zlevel: int | None = 1,
    num_threads: int | str = "ALL_CPUS",
    stats: bool = False,
) -> RasterStats | None:
    """:func:`write_dem`, optionally returning statistics gathered during the same pass."""
    out, codec = _check(da, path, blocksize, compress)
    _check_options(predictor, zlevel)
    dtype = np.dtype(da.dtype)
    if dtype == np.bool_:
        dtype = np.dtype(np.uint8)
    elif dtype == np.float16:
        dtype = np.dtype(np.float32)
    profile = _profile(
        da,
        dtype,
        compress=codec,
        tiled=tiled,
        blocksize=blocksize,
        predictor=predictor,
        zlevel=zlevel,
        num_threads=num_threads,
    )
    acc = _Accumulator() if stats else None
    ny, nx = da.shape
    data = da.data
    with (
        atomic_path(out, check=check_geotiff) as tmp,
        _bounded_cache(),
        rasterio.open(tmp, "w", **profile) as dst,
    ):
        _write_metadata(dst, da)
        sink = _WindowSink(dst, dtype, acc)
        if hasattr(data, "chunks") and hasattr(data, "rechunk"):
            row_block = blocksize if tiled else profile["blockysize"]
            rows = _aligned_chunks(data.chunks[0], ny, row_block)
            cols = _aligned_chunks(data.chunks[1], nx, blocksize) if tiled else (nx,)
            if tiled and rows is None and cols is None:
                arr = data
            else:
                arr = data.rechunk((rows or data.chunks[0], cols or data.chunks[1]))
            # the sink holds an open file handle: compute in this process's threads
            _write_dask(arr, sink)
        else:
            values = np.asarray(data)
            step = profile.get("blockysize", blocksize)
            rows_per_strip = max(step, (_STRIP_CELLS // max(nx, 1)) // step * step)
            for r0 in range(0, ny, rows_per_strip):
                r1 = min(ny, r0 + rows_per_strip)
                sink.write((r0, r1), (0, nx), values[r0:r1])
    return acc.result() if acc is not None else None


def write_dem(
    da: xr.DataArray,
    path: str | Path,
    *,
    compress: str | None = "deflate",
    tiled: bool = True,
    blocksize: int = 512,
    predictor: int | str | None = "auto",
    zlevel: int | None = 1,
    num_threads: int | str = "ALL_CPUS",
) -> Path:
    """Write a DEM (or any single-band raster on a Mars grid) to a GeoTIFF.

    The file carries the DataArray's Mars CRS and transform, NaN as the nodata value of float
    rasters, ``attrs["units"]`` as the band unit, ``long_name`` (or the name) as the band
    description and the other scalar attrs as metadata tags. Dask-backed arrays are computed
    chunk by chunk (dask's threaded scheduler in this process) and each chunk is written into
    its window as soon as it is ready, so memory stays bounded by a few chunks; chunks are
    realigned to the GeoTIFF's tiles first when they straddle them. In-memory arrays are
    written in strips.

    Parameters
    ----------
    da
        Raster with dims ``("y", "x")`` and a Mars CRS (from :func:`marsgis.open_dem` or a
        :mod:`marsgis.terrain` function).
    path
        Output ``.tif`` path; its folder must exist. An existing file is replaced only when
        the new one is complete and checked (:mod:`marsgis.io.atomic`): a failed write (an
        error while computing, a full disk) leaves it untouched.
    compress
        ``"deflate"`` (default), ``"zstd"``, ``"lzw"``, ``"lzma"``, ``"packbits"``,
        ``"lerc"``, or ``None``/``"none"``.
    tiled
        Write square tiles of ``blocksize`` (default) instead of strips.
    blocksize
        Tile side (multiple of 16; default 512), or rows per strip when not tiled.
    predictor
        GeoTIFF predictor: ``"auto"`` (default: 3, floating point, for float rasters; 2,
        horizontal differencing, for integers), ``None``/1 for none, 2 or 3. Ignored when
        the codec has no predictor.
    zlevel
        Deflate level 1–12 (default 1; None for GDAL's 6). With the floating-point predictor,
        level 1 writes float rasters about 20% smaller than GDAL's defaults (level 6, no
        predictor) in about half the time; higher levels gain 1–3% more at twice the cost.
    num_threads
        Compression threads of GDAL (``"ALL_CPUS"`` by default).

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    ValidationError
        Not a ``("y", "x")`` DataArray, missing output folder, unknown ``compress``, bad
        ``blocksize``.
    MissingCRSError, BodyMismatchError
        The raster has no CRS, or not a Mars one.
    OutputError
        The file could not be written (full disk, file-size limit, no permission); the
        previous file is unchanged.

    Examples
    --------
    >>> import marsgis
    >>> from marsgis.io.writers import write_dem
    >>> write_dem(marsgis.open_dem("gale-mola"), "gale-mola.tif")
    PosixPath('gale-mola.tif')
    """
    write_raster(
        da,
        path,
        compress=compress,
        tiled=tiled,
        blocksize=blocksize,
        predictor=predictor,
        zlevel=zlevel,
        num_threads=num_threads,
    )
    return Path(path).expanduser()
