"""Basemap tiles rendered locally from the shipped DEMs: colour ramp × hillshade, as PNG.

:func:`render_tile` makes the RGBA pixels of tile ``z/x/y`` (see :mod:`marsgis.viz.tiling`)
with :func:`render_bounds`, the one renderer: it takes the tile's bounds in the Mars CRS from
the tile matrix set (:data:`marsgis.viz.tms.MARS_TMS`), so the dashboards' tile server and the
API's ``/api/v1/tiles`` draw the same pixels. Each pixel centre is sampled bilinearly (:func:`marsgis.sample`) from the finest visible DEM
that has a value there (:mod:`marsgis.viz.sources`), coloured with
:func:`~marsgis.viz.colors.elevation_rgb` and shaded with the hillshade of the same DEM.
:func:`tile_png` encodes it and keeps it in an on-disk cache,
``<MARSGIS_CACHE_DIR>/tiles/<TILE_VERSION>/z/x/y.png``, shared by every process of the user:
a tile is rendered once, then read from disk. :func:`cached_tile` answers from that cache only
(and keeps the most recent tiles' bytes in memory, :data:`TILE_MEMORY_BYTES`), and
:func:`tile_etag` names a tile's content without reading it. Besides the stacked basemap (``relief``), each
shipped DEM can be drawn alone (:data:`TILE_DATASETS`, :func:`tile_stack`).

>>> from marsgis.viz.tiles import render_tile
>>> render_tile(0, 1, 0).shape
(256, 256, 4)
"""

from __future__ import annotations

import hashlib
import io
import logging
import threading
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from marsgis.exceptions import NotFoundError, OutputError
from marsgis.io.atomic import write_bytes
from marsgis.viz.colors import FLAT_HILLSHADE, elevation_rgb, shade_rgb
from marsgis.viz.sources import BASEMAP_DEMS, SourceStack, default_stack, exaggeration
from marsgis.viz.tiling import TILE_SIZE, TileBounds, bounds_centres, tile_bounds, tile_range

_log = logging.getLogger(__name__)

__all__ = [
    "RELIEF",
    "TILE_DATASETS",
    "TILE_MEMORY_BYTES",
    "TILE_VERSION",
    "cached_tile",
    "dataset_digest",
    "elevation_bounds",
    "elevation_tile",
    "render_bounds",
    "render_tile",
    "tile_cache_dir",
    "tile_etag",
    "tile_png",
    "tile_stack",
]

#: Part of the cache path: bump it whenever the look of the tiles changes.
TILE_VERSION = "v1"
#: The dashboards' basemap: every shipped DEM stacked, finest on top.
RELIEF = "relief"
#: What tiles can be drawn of: the stacked basemap, or one shipped DEM alone.
TILE_DATASETS = (RELIEF, *BASEMAP_DEMS)

_STACKS: dict[str, SourceStack] = {}
_STACKS_LOCK = threading.Lock()


def tile_stack(dataset: str = RELIEF) -> SourceStack:
    """The DEMs drawn for ``dataset`` (one of :data:`TILE_DATASETS`), shared per process.

    Raises
    ------
    NotFoundError
        ``dataset`` is not one of :data:`TILE_DATASETS`.
    """
    if dataset not in TILE_DATASETS:
        raise NotFoundError(
            f"no tiles of dataset {dataset!r}; choose one of {', '.join(TILE_DATASETS)}"
        )
    if dataset == RELIEF:
        return default_stack()
    with _STACKS_LOCK:
        if dataset not in _STACKS:
            _STACKS[dataset] = SourceStack((dataset,))
        return _STACKS[dataset]


def elevation_tile(
    z: int, x: int, y: int, *, stack: SourceStack | None = None
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Elevation, hillshade and DEM index of every pixel centre of tile ``z/x/y``.

    :func:`elevation_bounds` of the tile's bounds (:func:`~marsgis.viz.tiling.tile_bounds`).

    Returns
    -------
    elevation, hillshade, index
        ``(256, 256)`` arrays, row 0 north. ``index`` names the DEM each pixel came from
        (its position in ``stack.names``), -1 where no DEM has a value (elevation NaN).
        Where the first (base) DEM has no hillshade (its edge rows) the hillshade is that of
        flat ground, :data:`~marsgis.viz.colors.FLAT_HILLSHADE`.
        The elevation of a pixel whose DEM is drawn at full resolution is
        ``marsgis.sample(dem, lat, lon)`` at its centre; zoomed-out tiles sample a block-mean
        overview of the DEM (:meth:`~marsgis.viz.sources.DemSource.factor_for`).

    Raises
    ------
    ValidationError
        The tile lies outside the grid of its zoom.
    """
    return elevation_bounds(tile_bounds(z, x, y), z, stack=stack)


def elevation_bounds(
    bounds: TileBounds,
    z: int,
    *,
    size: tuple[int, int] = (TILE_SIZE, TILE_SIZE),
    stack: SourceStack | None = None,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Elevation, hillshade and DEM index of the pixel centres of an image over ``bounds``.

    Parameters
    ----------
    bounds
        West, south, east, north in the Mars CRS (degrees), e.g. a tile's
        ``MARS_TMS.xy_bounds``.
    z
        The zoom whose DEM choice, overviews and exaggeration apply.
    size
        ``(width, height)`` in pixels.
    stack
        The DEMs (default: the shipped ones stacked).

    Returns
    -------
    elevation, hillshade, index
        ``(height, width)`` arrays, as :func:`elevation_tile`.
    """
    from marsgis import sample

    stack = stack or default_stack()
    lats, lons = bounds_centres(bounds, *size)
    lat2, lon2 = np.meshgrid(lats, lons, indexing="ij")
    shape = (size[1], size[0])
    elevation = np.full(shape, np.nan)
    shade = np.full(shape, np.nan)
    index = np.full(shape, -1, dtype=np.int64)
    ex = exaggeration(z)
    # Finest DEM first; each coarser one is sampled only where no finer one gave a value
    # (sampling is pointwise, so this equals drawing coarse to fine, finer on top).
    todo = np.ones(shape, dtype=bool)
    for i in reversed(range(len(stack.names))):
        src = stack.source(stack.names[i])
        if not (src.visible_at(z) and src.overlaps(*bounds)):
            continue
        where = np.flatnonzero(todo)
        if where.size == 0:
            break
        lat_p, lon_p = lat2.ravel()[where], lon2.ravel()[where]
        factor = src.factor_for(z)
        value = np.asarray(
            sample(src.level(factor), lat_p, lon_p, grid=src.grid(factor)), dtype=np.float64
        )
        hs = np.asarray(
            sample(src.hillshade(factor, ex), lat_p, lon_p, grid=src.grid(factor, ex)),
            dtype=np.float64,
        )
        if i == 0:  # the base DEM: no hillshade on its edge rows (the poles) means flat
            hs = np.where(np.isfinite(hs), hs, FLAT_HILLSHADE)
        # a finer DEM's edge cells have no hillshade: leave them to the coarser one
        ok = np.isfinite(value) & np.isfinite(hs)
        done = where[ok]
        elevation.ravel()[done] = value[ok]
        shade.ravel()[done] = hs[ok]
        index.ravel()[done] = i
        todo.ravel()[done] = False
    return elevation, shade, index


def render_tile(
    z: int, x: int, y: int, *, shade: bool = True, stack: SourceStack | None = None
) -> npt.NDArray[np.uint8]:
    """RGBA pixels of basemap tile ``z/x/y``: elevation colour, shaded by the hillshade.

    Parameters
    ----------
    z, x, y
        Zoom and tile column/row (:mod:`marsgis.viz.tiling`).
    shade
        False: the plain colour ramp (:func:`~marsgis.viz.colors.elevation_rgb`).
    stack
        The DEMs (default: the shipped ones, :func:`~marsgis.viz.sources.default_stack`).

    Returns
    -------
    numpy.ndarray
        ``(256, 256, 4)`` uint8, row 0 north; alpha 0 where no DEM has a value.
    """
    return render_bounds(tile_bounds(z, x, y), z, shade=shade, stack=stack)


def render_bounds(
    bounds: TileBounds,
    z: int,
    *,
    size: tuple[int, int] = (TILE_SIZE, TILE_SIZE),
    shade: bool = True,
    stack: SourceStack | None = None,
) -> npt.NDArray[np.uint8]:
    """RGBA pixels of an image over ``bounds`` (Mars CRS degrees) drawn as at zoom ``z``.

    The one renderer of the dashboards' tiles and of ``/api/v1/tiles``.

    Returns
    -------
    numpy.ndarray
        ``(height, width, 4)`` uint8, row 0 north; alpha 0 where no DEM has a value.
    """
    elevation, hs, _ = elevation_bounds(bounds, z, size=size, stack=stack)
    rgb = elevation_rgb(elevation)
    if shade:
        rgb = shade_rgb(rgb, hs)
    ok = np.isfinite(elevation)
    out = np.zeros((size[1], size[0], 4), dtype=np.uint8)
    colour = np.rint(rgb)
    colour[~ok] = 0.0  # no DEM value: NaN colour, left transparent black
    out[..., :3] = colour
    out[..., 3] = np.where(ok, 255, 0)
    return out


def tile_cache_dir(dataset: str = RELIEF) -> Path:
    """Where tiles are cached: ``<settings().cache_dir>/tiles/<TILE_VERSION>``.

    One DEM alone (not the basemap) is cached in ``.../<TILE_VERSION>/<dataset>``.
    """
    from marsgis.config import settings

    root = settings().cache_dir / "tiles" / TILE_VERSION
    return root if dataset == RELIEF else root / dataset


def tile_png(z: int, x: int, y: int, *, cache: bool = True, dataset: str = RELIEF) -> bytes:
    """PNG bytes of tile ``z/x/y`` from the shipped DEMs, from the disk cache when there.

    Parameters
    ----------
    dataset
        One of :data:`TILE_DATASETS`: the stacked basemap (default) or one DEM alone.
    cache
        Read and write the on-disk cache (:func:`tile_cache_dir`). Writes are atomic, so
        concurrent renderers (several kernels, the Jupyter server) never see half a file.

    Raises
    ------
    ValidationError
        The tile lies outside the grid of its zoom.
    NotFoundError
        ``dataset`` is not one of :data:`TILE_DATASETS`.
    """
    from PIL import Image

    stack = tile_stack(dataset)
    tile_bounds(z, x, y)  # validate before touching the cache
    path = tile_cache_dir(dataset) / str(z) / str(x) / f"{y}.png"
    if cache and path.is_file():
        return path.read_bytes()
    buffer = io.BytesIO()
    Image.fromarray(render_tile(z, x, y, stack=stack), "RGBA").save(buffer, "PNG", compress_level=6)
    data = buffer.getvalue()
    if cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            write_bytes(path, data)
        except OutputError as exc:  # a cache that cannot be written is slower, never wrong
            _log.warning("tile %s/%s/%s not cached: %s", z, x, y, exc)
        else:
            _MEMORY.put(str(path), data)
    return data


#: Bytes of recently served tiles :func:`cached_tile` keeps in memory (per process).
TILE_MEMORY_BYTES = 64 << 20


class _Memory:
    """Least-recently-used tile bytes by cache path, bounded in total bytes (thread-safe)."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            data = self._items.get(key)
            if data is not None:
                self._items.move_to_end(key)
            return data

    def put(self, key: str, data: bytes) -> None:
        if len(data) > self.budget:
            return
        with self._lock:
            old = self._items.pop(key, None)
            self._size += len(data) - (0 if old is None else len(old))
            self._items[key] = data
            while self._size > self.budget:
                _, dropped = self._items.popitem(last=False)
                self._size -= len(dropped)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._size = 0


_MEMORY = _Memory(TILE_MEMORY_BYTES)


def cached_tile(z: int, x: int, y: int, *, dataset: str = RELIEF) -> bytes | None:
    """PNG bytes of tile ``z/x/y`` if :func:`tile_png` has cached it, else None (no rendering).

    Recent tiles come from memory, others from the disk cache (:func:`tile_cache_dir`), which
    is keyed by :data:`TILE_VERSION` like the memory: a cached tile is never stale. Cheap
    enough for an event loop.

    Raises
    ------
    ValidationError
        The tile lies outside the grid of its zoom.
    NotFoundError
        ``dataset`` is not one of :data:`TILE_DATASETS`.
    """
    tile_stack(dataset)
    _check_tile(z, x, y)
    path = tile_cache_dir(dataset) / str(z) / str(x) / f"{y}.png"
    key = str(path)
    data = _MEMORY.get(key)
    if data is not None:
        return data
    try:
        data = path.read_bytes()
    except OSError:  # not cached yet (or unreadable: render it again)
        return None
    _MEMORY.put(key, data)
    return data


def _check_tile(z: int, x: int, y: int) -> None:
    cols, rows = tile_range(z)  # checks the zoom
    if not (0 <= x < cols and 0 <= y < rows):
        tile_bounds(z, x, y)  # raises the ValidationError that names the grid


@lru_cache(maxsize=len(TILE_DATASETS))
def dataset_digest(dataset: str = RELIEF) -> str:
    """SHA-256 (hex) naming what the tiles of ``dataset`` are drawn from.

    It covers :data:`TILE_VERSION`, the dataset name and, for each of its DEMs, the sha256 of
    the shipped files the DEM is read from (``marsgis.data``'s registry). A change to any of
    them changes it.

    Raises
    ------
    NotFoundError
        ``dataset`` is not one of :data:`TILE_DATASETS`.
    """
    from marsgis.data import FILES, raster_entry

    digest = hashlib.sha256(f"marsgis tiles {TILE_VERSION} {dataset}".encode())
    for name in tile_stack(dataset).names:
        entry = Path(raster_entry(name).path)
        for rel in sorted(FILES):
            if Path(rel).parent == entry.parent and Path(rel).stem == entry.stem:
                digest.update(f"\n{name} {rel} {FILES[rel]}".encode())
    return digest.hexdigest()


def tile_etag(z: int, x: int, y: int, *, dataset: str = RELIEF) -> str:
    """The HTTP ``ETag`` of tile ``z/x/y`` (quoted): the tile's cache key, not a hash of bytes.

    ``"<TILE_VERSION>-<first 24 hex of dataset_digest>-z-x-y"``: the same bytes for as long
    as the data and the renderer version stay the same.

    >>> tag = tile_etag(3, 1, 2, dataset="mola")
    >>> tag[:4], len(tag), tag[-7:]
    ('"v1-', 35, '-3-1-2"')
    """
    return f'"{TILE_VERSION}-{dataset_digest(dataset)[:24]}-{z}-{x}-{y}"'
