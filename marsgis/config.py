"""Deployment settings, read from ``MARSGIS_*`` environment variables in this one module.

=============================  ==============================================================
variable                       meaning (default)
=============================  ==============================================================
``MARSGIS_DATABASE_URL``       SQLAlchemy URL; PostGIS for a shared deployment
                               (SpatiaLite file ``marsgis.sqlite`` in the user data dir)
``MARSGIS_DATA_DIR``           user data dir (platformdirs ``user_data_dir("marsgis")``)
``MARSGIS_CACHE_DIR``          catalog download cache (``<user cache dir>/marsgis``)
``MARSGIS_STAC_URL``           remote STAC API (USGS Astrogeology STAC API)
``MARSGIS_CACHE_TTL_DAYS``     how long cached catalog assets stay fresh (30)
``MARSGIS_GATEWAY_ADDRESS``    dask-gateway address; unset → a LocalCluster
``MARSGIS_GATEWAY_PROXY``      dask-gateway scheduler proxy address (optional)
``MARSGIS_GATEWAY_AUTH``       dask-gateway auth type: ``jupyterhub``, ``basic`` or ``kerberos``
                               (each of the three falls back to dask-gateway's own
                               ``DASK_GATEWAY__ADDRESS``, ``__PROXY_ADDRESS``, ``__AUTH__TYPE``)
``MARSGIS_GPU``                ``1`` to ask for GPU workers when the gateway offers them
``MARSGIS_REPORTS_DIR``        where report runs write their notebooks and HTML
                               (``<data dir>/reports``)
=============================  ==============================================================
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

__all__ = ["DEFAULT_STAC_URL", "Settings", "settings"]

#: The USGS Astrogeology STAC API (CTX/HiRISE DTMs as COGs), the configured default remote.
DEFAULT_STAC_URL = "https://stac.astrogeology.usgs.gov/api/"


@dataclass(frozen=True)
class Settings:
    """A snapshot of the deployment settings."""

    database_url: str
    data_dir: Path
    cache_dir: Path
    stac_url: str
    cache_ttl_days: float
    gateway_address: str | None
    gateway_proxy_address: str | None
    gateway_auth: str | None
    gpu: bool
    reports_dir: Path


def settings() -> Settings:
    """Read the deployment settings from the environment (every call reads it afresh)."""
    env = os.environ
    data_dir = Path(env.get("MARSGIS_DATA_DIR") or platformdirs.user_data_dir("marsgis"))
    cache_dir = Path(env.get("MARSGIS_CACHE_DIR") or platformdirs.user_cache_dir("marsgis"))
    database_url = env.get("MARSGIS_DATABASE_URL") or f"sqlite:///{data_dir / 'marsgis.sqlite'}"
    return Settings(
        database_url=database_url,
        data_dir=data_dir,
        cache_dir=cache_dir,
        stac_url=env.get("MARSGIS_STAC_URL") or DEFAULT_STAC_URL,
        cache_ttl_days=float(env.get("MARSGIS_CACHE_TTL_DAYS") or 30),
        # dask-gateway's own variables (set by JupyterHub deployments) when ours are unset
        gateway_address=env.get("MARSGIS_GATEWAY_ADDRESS")
        or env.get("DASK_GATEWAY__ADDRESS")
        or None,
        gateway_proxy_address=env.get("MARSGIS_GATEWAY_PROXY")
        or env.get("DASK_GATEWAY__PROXY_ADDRESS")
        or None,
        gateway_auth=env.get("MARSGIS_GATEWAY_AUTH") or env.get("DASK_GATEWAY__AUTH__TYPE") or None,
        gpu=(env.get("MARSGIS_GPU") or "0").lower() in {"1", "true", "yes"},
        reports_dir=Path(env.get("MARSGIS_REPORTS_DIR") or data_dir / "reports"),
    )
