"""Basemap tiles rendered locally from the shipped DEMs: colour ramp × hillshade, as PNG.

:func:`render_tile` makes the RGBA pixels of tile ``z/x/y`` (see :mod:`marsgis.viz.tiling`)
with :func:`render_bounds`, the one renderer: it takes the tile's bounds in the Mars CRS from
the tile matrix set (:data:`marsgis.viz.tms.MARS_TMS`), so the dashboards' tile server and the
API's ``/api/v1/tiles`` draw the same pixels. Each pixel centre is sampled bilinearly (:func:`marsgis.sample`) from the finest visible DEM
that has a value there (:mod:`marsgis.viz.sources`), coloured with
:func:`~marsgis.viz.colors.elevation_rgb` and shaded with the hillshade of the same DEM.
:func:`tile_png` encodes it and keeps it in an on-disk cache,
``<MARSGIS_CACHE_DIR>/tiles/<TILE_VERSION>/z/x/y.png``, shared by every process of the user:
a tile is rendered once, then read from disk. Besides the stacked basemap (``relief``), each
shipped DEM can be drawn alone (:data:`TILE_DATASETS`, :func:`tile_stack`).

>>> from marsgis.viz.tiles import render_tile
>>> render_tile(0, 1, 0).shape
(256, 256, 4)
"""

from __future__ import annotations

import io
import logging
import threading
from pathlib import Path

import numpy as np
import numpy.typing as npt

from marsgis.exceptions import NotFoundError, OutputError
from marsgis.io.atomic import write_bytes
from marsgis.viz.colors import FLAT_HILLSHADE, elevation_rgb, shade_rgb
from marsgis.viz.sources import BASEMAP_DEMS, SourceStack, default_stack, exaggeration
from marsgis.viz.tiling import TILE_SIZE, TileBounds, bounds_centres, tile_bounds

_log = logging.getLogger(__name__)

__all__ = [
    "RELIEF",
    "TILE_DATASETS",
    "TILE_VERSION",
    "elevation_bounds",
    "elevation_tile",
    "render_bounds",
    "render_tile",
    "tile_cache_dir",
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
    for i, name in enumerate(stack.names):
        src = stack.source(name)
        if not (src.visible_at(z) and src.overlaps(*bounds)):
            continue
        factor = src.factor_for(z)
        grid = src.level(factor)
        value = np.asarray(sample(grid, lat2, lon2), dtype=np.float64)
        hs = np.asarray(sample(src.hillshade(factor, ex), lat2, lon2), dtype=np.float64)
        if i == 0:  # the base DEM: no hillshade on its edge rows (the poles) means flat
            hs = np.where(np.isfinite(hs), hs, FLAT_HILLSHADE)
        # a finer DEM's edge cells have no hillshade: leave them to the coarser one
        ok = np.isfinite(value) & np.isfinite(hs)
        elevation[ok] = value[ok]
        shade[ok] = hs[ok]
        index[ok] = i
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
    out[ok, :3] = np.rint(rgb[ok]).astype(np.uint8)
    out[ok, 3] = 255
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
    return data
