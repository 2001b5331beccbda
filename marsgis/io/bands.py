"""One raster band read through GDAL (rasterio), window by window, with GDAL's errors made ours.

Every pixel marsgis reads from a file — GeoTIFF/COG, PDS3, PDS4, ISIS3 — goes through
:class:`BandReader`. It is what the dask array of a lazily opened DEM calls for each chunk,
so a truncated or corrupted file raises :class:`~marsgis.exceptions.DataReadError` naming
the file, also when the read happens later inside ``dem.mean().compute()``.
"""

from __future__ import annotations

from typing import Any

import dask.array
import numpy as np
import numpy.typing as npt
import rasterio
from rasterio.windows import Window

from marsgis.exceptions import DataReadError, MarsGISError

__all__ = ["BandReader", "read_failure"]


def read_failure(path: str, exc: BaseException, *, what: str = "read") -> DataReadError:
    """The :class:`DataReadError` for a failed GDAL open or read of ``path``."""
    parts: list[str] = []
    seen: BaseException | None = exc
    while seen is not None and len(parts) < 4:
        text = " ".join(str(seen).split()).rstrip(".")
        if text and "see previous exception" not in text.lower() and text not in parts:
            parts.append(text)
        seen = seen.__cause__ or seen.__context__
    reason = "; ".join(parts) or type(exc).__name__
    return DataReadError(
        f"cannot {what} {path!r}: {reason}. The file is damaged, truncated or not a raster "
        "GDAL reads; download it again (or check it with `gdalinfo -checksum`)"
    )


class BandReader:
    """Lazily read band ``band`` of ``path``; indexable like a 2-D numpy array.

    Parameters
    ----------
    path
        What :func:`rasterio.open` opens (a file path, a PDS3 label, a ``/vsicurl/`` URL).
    shape, dtype
        The band's ``(rows, cols)`` and its stored data type.
    band
        1-based band number.
    """

    def __init__(self, path: str, *, shape: tuple[int, int], dtype: Any, band: int = 1) -> None:
        self.path = path
        self.shape = (int(shape[0]), int(shape[1]))
        self.dtype = np.dtype(dtype)
        self.ndim = 2
        self.band = band

    def __repr__(self) -> str:
        return f"BandReader({self.path!r}, shape={self.shape}, dtype={self.dtype})"

    def __getitem__(self, key: Any) -> npt.NDArray[Any]:
        if not isinstance(key, tuple):
            key = (key,)
        key = key + (slice(None),) * (2 - len(key))
        if len(key) != 2:
            raise IndexError(f"a band is 2-D; got the index {key!r}")
        windows = []
        rest: list[Any] = []
        for k, n in zip(key, self.shape, strict=True):
            if isinstance(k, slice) and k.step in (None, 1):
                start, stop, _ = k.indices(n)
                windows.append((start, max(start, stop)))
                rest.append(slice(None))
            else:  # anything else: read the full extent on this axis, then index
                windows.append((0, n))
                rest.append(k)
        (r0, r1), (c0, c1) = windows
        out = self.read(r0, r1, c0, c1)
        if any(not (isinstance(k, slice) and k == slice(None)) for k in rest):
            out = out[tuple(rest)]
        return out

    def read(self, r0: int, r1: int, c0: int, c1: int) -> npt.NDArray[Any]:
        """Rows ``r0:r1`` and columns ``c0:c1`` of the band, in the stored data type."""
        if r1 <= r0 or c1 <= c0:
            return np.empty((max(r1 - r0, 0), max(c1 - c0, 0)), dtype=self.dtype)
        failure: DataReadError | None = None
        try:
            with rasterio.open(self.path) as ds:
                out = ds.read(self.band, window=Window(c0, r0, c1 - c0, r1 - r0))
        except MarsGISError:
            raise
        except Exception as exc:  # rasterio/GDAL raise many types; name the file and the fix
            failure = read_failure(
                self.path, exc, what=f"read rows {r0}–{r1}, columns {c0}–{c1} of"
            )
        if failure is not None:
            # Raised outside the handler, without GDAL's exception chained: this runs on Dask
            # workers, and GDAL's exception types do not survive the trip back to the client
            # (tblib cannot unpickle them), which would turn this error into a bare Exception.
            # The message already carries GDAL's text.
            raise failure
        if out.shape != (r1 - r0, c1 - c0):
            raise DataReadError(
                f"GDAL returned a {out.shape} block for rows {r0}–{r1}, columns {c0}–{c1} of "
                f"{self.path!r}; the file is damaged — download it again"
            )
        return np.asarray(out, dtype=self.dtype)

    def to_dask(self, chunks: tuple[int, int]) -> dask.array.Array:
        """A dask array whose every chunk is read by :meth:`read` (errors become ours)."""
        name = (
            f"marsgis-read-{dask.base.tokenize(self.path, self.shape, str(self.dtype), self.band)}"
        )
        return dask.array.from_array(
            self,
            chunks=chunks,
            name=name,
            lock=False,
            asarray=False,
            fancy=False,
            meta=np.empty((0, 0), dtype=self.dtype),
        )

    def load(self) -> npt.NDArray[Any]:
        """The whole band, read now."""
        return self.read(0, self.shape[0], 0, self.shape[1])
