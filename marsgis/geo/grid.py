"""Regular Mars grids: lon/lat ↔ fractional grid index, cell lon/lat, cell sizes and areas.

A :class:`Grid` describes the ``("y", "x")`` grid of a DEM: pixel-centre origin and steps, its
Mars CRS and whether it wraps around the planet. It is the one place where a longitude/latitude
becomes a (row, column) — :meth:`Grid.locate` — and where a cell gets its true size on the
sphere (:meth:`Grid.cell_size_m`, :func:`cell_area_m2`: proportional to ``cos φ`` on
geographic grids).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
import xarray as xr
from pyproj import CRS, Proj, Transformer

from marsgis.crs import (
    MARS_GEOGRAPHIC,
    MARS_RADIUS_M,
    cell_sizes_m,
    require_mars_crs,
    validate_latlon,
)
from marsgis.exceptions import ValidationError
from marsgis.geo.lon import lon180, normalize_lon

__all__ = ["Grid", "cell_area_m2", "lonlat_of_grid", "lonlat_to_grid"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Grid:
    """The regular ``("y", "x")`` grid of a DEM on Mars.

    Build one with :meth:`Grid.of`. Indices are pixel-centre based: cell ``(r, c)`` has its
    centre at ``(y0 + r·dy, x0 + c·dx)`` in the grid's CRS.

    Attributes
    ----------
    x, y
        The coordinate values (float64).
    x0, dx, y0, dy
        Pixel-centre origin and signed steps, in CRS units.
    crs
        The grid's Mars CRS.
    is_global
        A geographic grid spanning all 360° of longitude: its first and last columns are
        neighbours.
    name
        The DEM's name, for messages.
    """

    x: FloatArray = field(repr=False)
    y: FloatArray = field(repr=False)
    x0: float
    dx: float
    y0: float
    dy: float
    crs: CRS
    is_global: bool
    name: Any = None

    @classmethod
    def of(cls, dem: xr.DataArray) -> Grid:
        """The grid of ``dem`` (dims ``("y", "x")``, a Mars CRS, at least 2×2 cells).

        Raises
        ------
        ValidationError
            Other dims, or fewer than 2×2 cells.
        MissingCRSError, BodyMismatchError
            No CRS, or not a Mars one.
        """
        if dem.dims != ("y", "x"):
            raise ValidationError(
                f"expected a DEM with dims ('y', 'x'), got {dem.dims!r}; open it with "
                "marsgis.open_dem"
            )
        crs = CRS.from_user_input(require_mars_crs(dem.rio.crs, what=f"DEM {dem.name!r}"))
        xs = np.asarray(dem["x"].values, dtype=np.float64)
        ys = np.asarray(dem["y"].values, dtype=np.float64)
        if xs.size < 2 or ys.size < 2:
            raise ValidationError(
                f"DEM {dem.name!r} needs at least 2×2 cells, has {ys.size}×{xs.size}"
            )
        dx = float((xs[-1] - xs[0]) / (xs.size - 1))
        dy = float((ys[-1] - ys[0]) / (ys.size - 1))
        is_global = bool(crs.is_geographic and abs(abs(dx) * xs.size - 360.0) < 1e-6)
        return cls(xs, ys, float(xs[0]), dx, float(ys[0]), dy, crs, is_global, dem.name)

    @property
    def shape(self) -> tuple[int, int]:
        """``(ny, nx)``."""
        return int(self.y.size), int(self.x.size)

    @property
    def geographic(self) -> bool:
        """True when x/y are degrees of longitude/latitude."""
        return bool(self.crs.is_geographic)

    @cached_property
    def _negative_lons(self) -> bool:
        return bool(float(np.min(self.x)) < 0.0)

    @cached_property
    def _to_grid(self) -> Transformer | None:
        if self.geographic:
            return None
        return Transformer.from_crs(CRS.from_user_input(MARS_GEOGRAPHIC), self.crs, always_xy=True)

    def locate(self, lat: npt.ArrayLike, lon: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Fractional ``(row, col)`` of points (planetocentric °, longitude in any turn).

        Longitudes are put in the grid's own convention first (−180–180 on a grid with
        negative longitudes, 0–360 otherwise). No range check: see :func:`lonlat_to_grid`.
        """
        la = np.asarray(lat, dtype=np.float64)
        lo = np.asarray(lon, dtype=np.float64)
        tr = self._to_grid
        if tr is None:
            px = normalize_lon(lo, center=0.0 if self._negative_lons else 180.0)
            py = la
        else:
            tx, ty = tr.transform(normalize_lon(lo, center=0.0), la)
            px = np.asarray(tx, dtype=np.float64)
            py = np.asarray(ty, dtype=np.float64)
        return (py - self.y0) / self.dy, (px - self.x0) / self.dx

    def lonlat(self) -> tuple[FloatArray, FloatArray]:
        """Planetocentric latitude and east longitude of every cell centre, 2-D ``(ny, nx)``.

        A geographic grid keeps its own longitudes (0–360 on MOLA); a projected grid gives
        −180–180 °E.
        """
        if self.geographic:
            lon2, lat2 = np.meshgrid(self.x, self.y)
            return lat2, lon2
        tr = Transformer.from_crs(self.crs, CRS.from_user_input(MARS_GEOGRAPHIC), always_xy=True)
        mx, my = np.meshgrid(self.x, self.y)
        lon2, lat2 = tr.transform(mx, my)
        return np.asarray(lat2, dtype=np.float64), np.asarray(lon180(lon2), dtype=np.float64)

    def cell_size_m(self) -> tuple[FloatArray, FloatArray]:
        """Signed east–west and north–south spacing of the cells of each row, metres.

        On a geographic grid ``dx = R cos φ Δλ`` (exactly 0 on a row centred on a pole) and
        ``dy = R Δφ``; on a projected grid the pixel size in metres. Both per row (``ny``).
        """
        return cell_sizes_m(self.crs, self.y, self.dx, self.dy)

    def require_regular(self) -> None:
        """Raise :class:`ValidationError` unless both axes advance in even steps."""
        for values, step, axis in ((self.x, self.dx, "x"), (self.y, self.dy, "y")):
            if step == 0.0 or not np.isfinite(step):
                raise ValidationError(
                    f"DEM {self.name!r}: {axis} coordinates do not advance (step {step!r})"
                )
            if values.size > 2 and np.max(np.abs(np.diff(values) - step)) > 1e-4 * abs(step):
                raise ValidationError(
                    f"DEM {self.name!r}: {axis} coordinates are not evenly spaced (step "
                    f"{step!r}); regrid it first, e.g. with dem.rio.reproject(dem.rio.crs)"
                )


def lonlat_to_grid(
    dem: xr.DataArray, lat: npt.ArrayLike, lon: npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Fractional (row, col) pixel-centre indices of lon/lat points on ``dem``.

    Raises
    ------
    CoordinateError
        A latitude outside ±90, a longitude outside [−180, 360], or a non-finite value.
    """
    lat_a, lon_a = validate_latlon(lat, lon)
    return Grid.of(dem).locate(lat_a, lon_a)


def lonlat_of_grid(dem: xr.DataArray) -> tuple[FloatArray, FloatArray]:
    """Planetocentric latitude and east longitude of every cell centre (see :meth:`Grid.lonlat`)."""
    return Grid.of(dem).lonlat()


def cell_area_m2(dem: xr.DataArray) -> xr.DataArray:
    """True area of each cell on the Mars sphere, m².

    On a geographic grid every cell of a row has the area of its lat/lon quadrangle,
    ``R² · Δλ · (sin φ_north − sin φ_south)`` (exact; proportional to ``cos φ``), returned
    along ``y`` only. On a projected grid the pixel area is divided by the projection's areal
    scale factor at the cell centre (pyproj), returned as a ``("y", "x")`` array.
    """
    grid = Grid.of(dem)
    dx, dy = abs(grid.dx), abs(grid.dy)
    if grid.geographic:
        ys = grid.y
        north = np.radians(np.clip(ys + dy / 2.0, -90.0, 90.0))
        south = np.radians(np.clip(ys - dy / 2.0, -90.0, 90.0))
        area = MARS_RADIUS_M**2 * np.radians(dx) * np.abs(np.sin(north) - np.sin(south))
        return xr.DataArray(
            area, dims=("y",), coords={"y": dem["y"]}, name="cell_area", attrs={"units": "m2"}
        )
    lat2, lon2 = grid.lonlat()
    factors = Proj(grid.crs).get_factors(lon2, lat2)
    scale = np.asarray(factors.areal_scale, dtype=np.float64)
    return xr.DataArray(
        dx * dy / scale, dims=("y", "x"), coords={"y": dem["y"], "x": dem["x"]},
        name="cell_area", attrs={"units": "m2"},
    )  # fmt: skip
