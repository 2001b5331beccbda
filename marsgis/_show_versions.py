"""Print the versions of marsgis and its stack (printed first in every CI job)."""

from __future__ import annotations

import importlib.metadata
import platform
import sys

__all__ = ["show_versions"]

_PACKAGES = (
    "marsgis",
    "numpy",
    "scipy",
    "xarray",
    "rioxarray",
    "rasterio",
    "pyproj",
    "dask",
    "distributed",
    "geopandas",
    "shapely",
    "numba",
    "sqlalchemy",
    "geoalchemy2",
    "alembic",
    "pystac",
    "pystac-client",
    "torch",
)


def show_versions() -> None:
    """Print Python, platform, GDAL/PROJ and package versions."""
    print(f"python: {sys.version.split()[0]} ({platform.platform()})")
    try:
        import pyproj
        import rasterio

        print(f"GDAL: {rasterio.__gdal_version__}  PROJ: {pyproj.proj_version_str}")
    except ImportError:
        pass
    for pkg in _PACKAGES:
        try:
            version = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            version = "not installed"
        print(f"{pkg}: {version}")
