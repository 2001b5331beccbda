"""The shipped DEMs behind the basemap, coarse to fine, with overviews and hillshades.

The basemap draws every pixel from the finest DEM that has a value there: the global MOLA
MEGDR (``mola``, 4 px/deg), then the MOLA 128 px/deg window around Gale (``gale-mola``),
then the 1 m Gale DEM (``gale-1m``). A finer DEM appears once the map is zoomed in far
enough for it to cover a useful number of pixels, so Gale sharpens as you zoom in.

Each DEM is read once per process. For zoomed-out tiles a block-mean overview (2, 4, 8 or 16
cells per side) is used instead of the full grid, so a tile pixel never skips more than one
DEM cell. Hillshades are :func:`marsgis.terrain.hillshade` of those grids (true-metre
gradients on the Mars sphere), with a vertical exaggeration that grows with the pixel size
(:func:`exaggeration`), the same for every DEM in a tile.

:func:`elevation_at` is the map's elevation readout: the finest DEM at a point, sampled with
:func:`marsgis.sample`.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import xarray as xr
from pyproj import CRS

from marsgis.crs import MARS_GEOGRAPHIC, MARS_RADIUS_M, validate_latlon
from marsgis.exceptions import ValidationError
from marsgis.geo import Grid
from marsgis.viz.tiling import resolution_deg, resolution_m

__all__ = [
    "BASEMAP_DEMS",
    "DemSource",
    "SourceStack",
    "default_stack",
    "elevation_at",
    "exaggeration",
]

#: The shipped DEMs of the basemap, coarse to fine.
BASEMAP_DEMS = ("mola", "gale-mola", "gale-1m")
#: Overview factors (cells per side of a block mean).
OVERVIEW_FACTORS = (1, 2, 4, 8, 16)
_M_PER_DEG = math.radians(1.0) * MARS_RADIUS_M


def exaggeration(z: int) -> float:
    """Vertical exaggeration of the hillshade at zoom ``z``: 1 at metre scale, up to 16.

    ``2 ** round(log2(sqrt(pixel_m / 40)))`` clipped to 1…16: the relief of a
    kilometre-scale pixel is too faint to read at true scale.
    """
    ratio = math.sqrt(resolution_m(z) / 40.0)
    return float(2 ** min(4, max(0, round(math.log2(ratio)))))


@dataclass
class DemSource:
    """One DEM of the basemap: its grids (by overview factor) and their hillshades."""

    name: str
    dem: xr.DataArray
    cell_deg: float
    #: ``(west, south, east, north)`` in degrees (longitudes as the DEM has them).
    lonlat_box: tuple[float, float, float, float] = (-180.0, -90.0, 360.0, 90.0)
    _levels: dict[int, xr.DataArray] = field(default_factory=dict, repr=False)
    _shades: dict[tuple[int, float], xr.DataArray] = field(default_factory=dict, repr=False)
    _grids: dict[tuple[int, float | None], Grid] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def open(cls, name: str) -> DemSource:
        """Open a DEM (a shipped name or a path) into memory and measure its cell size."""
        from marsgis import open_dem

        dem = open_dem(name).compute()
        xres, yres = (abs(float(r)) for r in dem.rio.resolution())
        cell = max(xres, yres)
        if not CRS.from_user_input(dem.rio.crs).is_geographic:
            cell /= _M_PER_DEG  # metres → degrees along the equator / a meridian
        w, s_, e, n = (float(v) for v in dem.rio.transform_bounds(MARS_GEOGRAPHIC))
        return cls(name=name, dem=dem, cell_deg=cell, lonlat_box=(w, s_, e, n))

    def covers(self, lat: npt.ArrayLike, lon: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Whether points fall in the DEM's lon/lat box (a cheap test before sampling)."""
        w, s_, e, n = self.lonlat_box
        lat_a = np.asarray(lat, dtype=np.float64)
        lon_a = np.asarray(lon, dtype=np.float64)
        inside_lat = (lat_a >= s_) & (lat_a <= n)
        if e - w >= 360.0:
            return np.asarray(inside_lat)
        rel = (lon_a - w) % 360.0  # degrees east of the west edge, wrap included
        return np.asarray(inside_lat & (rel <= e - w))

    def overlaps(self, west: float, south: float, east: float, north: float) -> bool:
        """Whether the DEM's lon/lat box meets a box (longitudes in any convention)."""
        w, s_, e, n = self.lonlat_box
        if n < south or s_ > north:
            return False
        if e - w >= 360.0:
            return True
        return any(w + k <= east and e + k >= west for k in (-720.0, -360.0, 0.0, 360.0, 720.0))

    def factor_for(self, z: int) -> int:
        """The coarsest overview whose cells are no larger than a zoom-``z`` pixel."""
        pixel = resolution_deg(z) * (1.0 + 1e-9)
        usable = [f for f in OVERVIEW_FACTORS if self.cell_deg * f <= pixel and self._fits(f)]
        return max(usable, default=1)

    def visible_at(self, z: int) -> bool:
        """Whether the DEM is drawn at zoom ``z``: its coarsest overview is at most 2 pixels."""
        coarsest = max(f for f in OVERVIEW_FACTORS if self._fits(f))
        return resolution_deg(z) <= 2.0 * self.cell_deg * coarsest

    def _fits(self, factor: int) -> bool:
        return min(self.dem.shape) // factor >= 8

    def level(self, factor: int) -> xr.DataArray:
        """The DEM block-averaged ``factor`` × ``factor`` (the DEM itself for 1)."""
        with self._lock:
            if factor not in self._levels:
                if factor == 1:
                    grid = self.dem
                else:
                    grid = self.dem.coarsen(y=factor, x=factor, boundary="trim").mean()
                    grid = grid.rio.write_crs(self.dem.rio.crs)
                    grid.name = self.dem.name
                self._levels[factor] = grid
            return self._levels[factor]

    def hillshade(self, factor: int, z_factor: float) -> xr.DataArray:
        """Hillshade of :meth:`level` ``factor`` with vertical exaggeration ``z_factor``."""
        from marsgis.terrain import hillshade

        grid = self.level(factor)
        with self._lock:
            key = (factor, z_factor)
            if key not in self._shades:
                self._shades[key] = hillshade(grid, z_factor=z_factor)
            return self._shades[key]

    def grid(self, factor: int, z_factor: float | None = None) -> Grid:
        """The :class:`~marsgis.geo.Grid` of :meth:`level`, or of :meth:`hillshade` if ``z_factor``.

        Read once, then passed to :func:`marsgis.sample` as ``grid``.
        """
        key = (factor, z_factor)
        with self._lock:
            found = self._grids.get(key)
        if found is None:
            data = self.level(factor) if z_factor is None else self.hillshade(factor, z_factor)
            found = Grid.of(data)
            with self._lock:
                self._grids[key] = found
        return found


class SourceStack:
    """The basemap DEMs, coarse to fine, each opened on first use (thread-safe)."""

    def __init__(self, names: Sequence[str] = BASEMAP_DEMS) -> None:
        if not names:
            raise ValidationError("a basemap needs at least one DEM; give names like ('mola',)")
        self.names = tuple(names)
        self._sources: dict[str, DemSource] = {}
        self._lock = threading.Lock()

    def source(self, name: str) -> DemSource:
        """The opened :class:`DemSource` ``name``."""
        if name not in self.names:
            raise ValidationError(f"DEM {name!r} is not in this basemap; it has {self.names}")
        with self._lock:
            if name not in self._sources:
                self._sources[name] = DemSource.open(name)
            return self._sources[name]

    def sources(self) -> list[DemSource]:
        """All sources, coarse to fine."""
        return [self.source(n) for n in self.names]

    def sample(
        self, lat: npt.ArrayLike, lon: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
        """Elevation at points from the finest DEM with a value, and that DEM's index.

        Returns
        -------
        elevation, index
            Arrays of the points' shape; ``index`` is -1 (and elevation NaN) where no DEM
            has a value.
        """
        from marsgis import sample

        lat_a, lon_a = validate_latlon(lat, lon)
        lat_a, lon_a = np.broadcast_arrays(lat_a, lon_a)
        elevation = np.full(lat_a.shape, np.nan)
        index = np.full(lat_a.shape, -1, dtype=np.int64)
        for i, src in enumerate(self.sources()):
            near = src.covers(lat_a, lon_a)
            if not near.any():
                continue
            value = np.full(lat_a.shape, np.nan)
            value[near] = np.asarray(sample(src.dem, lat_a[near], lon_a[near]), dtype=np.float64)
            ok = np.isfinite(value)
            elevation[ok] = value[ok]
            index[ok] = i
        return elevation, index


_DEFAULT: SourceStack | None = None
_DEFAULT_LOCK = threading.Lock()


def default_stack() -> SourceStack:
    """The process-wide stack of :data:`BASEMAP_DEMS` (opened lazily, shared by all tiles)."""
    global _DEFAULT  # noqa: PLW0603 - one lazily built cache per process
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = SourceStack()
        return _DEFAULT


def elevation_at(lat: float, lon: float, stack: SourceStack | None = None) -> tuple[float, str]:
    """Elevation (m) at a point from the finest basemap DEM there, and that DEM's name.

    The value is ``marsgis.sample(marsgis.open_dem(name), lat, lon)`` of the returned
    ``name``.

    Raises
    ------
    CoordinateError
        A non-finite or out-of-range latitude/longitude.
    """
    stack = stack or default_stack()
    value, index = stack.sample(lat, lon)
    i = int(np.asarray(index).reshape(-1)[0])
    if i < 0:
        return math.nan, ""
    return float(np.asarray(value).reshape(-1)[0]), stack.names[i]
