"""The ``.mars`` DataArray accessor: forwards to the public functions, holds no logic."""

from __future__ import annotations

from typing import Any

import numpy.typing as npt
import xarray as xr

__all__ = ["MarsAccessor"]


@xr.register_dataarray_accessor("mars")
class MarsAccessor:
    """``dem.mars.sample(lat, lon)``, ``dem.mars.slope()``, … (like rioxarray's ``.rio``)."""

    def __init__(self, obj: xr.DataArray) -> None:
        self._obj = obj

    def sample(self, lat: npt.ArrayLike, lon: npt.ArrayLike, **kwargs: Any) -> Any:
        """See :func:`marsgis.sample`."""
        from marsgis.sampling import sample

        return sample(self._obj, lat, lon, **kwargs)

    def slope(self, **kwargs: Any) -> xr.DataArray:
        """See :func:`marsgis.terrain.slope`."""
        from marsgis import terrain

        return terrain.slope(self._obj, **kwargs)

    def aspect(self, **kwargs: Any) -> xr.DataArray:
        """See :func:`marsgis.terrain.aspect`."""
        from marsgis import terrain

        return terrain.aspect(self._obj, **kwargs)

    def roughness(self, **kwargs: Any) -> xr.DataArray:
        """See :func:`marsgis.terrain.roughness`."""
        from marsgis import terrain

        return terrain.roughness(self._obj, **kwargs)

    def hillshade(self, **kwargs: Any) -> xr.DataArray:
        """See :func:`marsgis.terrain.hillshade`."""
        from marsgis import terrain

        return terrain.hillshade(self._obj, **kwargs)

    def cell_size(self) -> Any:
        """See :func:`marsgis.terrain.cell_size`."""
        from marsgis import terrain

        return terrain.cell_size(self._obj)
