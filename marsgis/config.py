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
``MARSGIS_API_PREFIX``         URL prefix the service API also answers under, e.g.
                               ``/services/marsgis-api`` (``JUPYTERHUB_SERVICE_PREFIX``)
``MARSGIS_API_RATE_LIMIT``     requests per principal of the service API, ``N/second``,
                               ``N/minute``, ``N/hour`` or ``N/day``; ``off`` for none
                               (``600/minute``)
``MARSGIS_API_DB_ROLES``       ``1`` to run each API request as the caller's PostgreSQL
                               group role (``SET LOCAL ROLE``, :func:`marsgis.db.as_role`);
                               PostGIS only, ignored on SpatiaLite (off)
``MARSGIS_DB_ROLE_PREFIX``     prefix of the PostgreSQL group roles (``marsgis``)
``MARSGIS_REDIS_URL``          Redis shared by API replicas for the rate limit buckets,
                               e.g. ``redis://redis:6379/0`` (unset → each process its own),
                               and the second tier of the result cache (:mod:`marsgis.memo`)
``MARSGIS_MEMO_PREFIX``        prefix of the result cache's Redis keys (``marsgis:memo:``)
``MARSGIS_MEMO_MB``            megabytes of results each process keeps in memory; 0 for
                               none (64)
``MARSGIS_USER``               who acts, recorded as the actor of the changes this process
                               makes (``JUPYTERHUB_USER`` on a hub server; else none)
``MARSGIS_SPATIALITE``         the SpatiaLite extension SQLite loads: a name on the library
                               path or a file path (``mod_spatialite``)
=============================  ==============================================================

Run as a JupyterHub service, the API finds what the hub sets for its services:
``JUPYTERHUB_API_URL`` and ``JUPYTERHUB_API_TOKEN`` (both set: hub tokens are accepted, see
:mod:`marsgis.api.auth`) and ``JUPYTERHUB_SERVICE_PREFIX``.

A variable with a value outside what it accepts (``MARSGIS_CACHE_TTL_DAYS=abc``,
``MARSGIS_GPU=maybe``) raises :class:`~marsgis.exceptions.ConfigurationError` naming the
variable and the accepted values; an empty one counts as unset.

Examples
--------
>>> settings({"MARSGIS_CACHE_TTL_DAYS": "0.5"}).cache_ttl_days
0.5
>>> settings({"MARSGIS_API_RATE_LIMIT": "30/second"}).api_rate_limit
Rate(requests=30, period_s=1.0)
>>> settings({"MARSGIS_CACHE_TTL_DAYS": "abc"})
Traceback (most recent call last):
...
marsgis.exceptions.ConfigurationError: MARSGIS_CACHE_TTL_DAYS='abc' is not valid: expected a number of days >= 0, e.g. 30 (unset it for the default, 30)
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from marsgis.exceptions import ConfigurationError

__all__ = [
    "DEFAULT_API_RATE_LIMIT",
    "DEFAULT_STAC_URL",
    "Rate",
    "Settings",
    "parse_rate",
    "settings",
]

#: The USGS Astrogeology STAC API (CTX/HiRISE DTMs as COGs), the configured default remote.
DEFAULT_STAC_URL = "https://stac.astrogeology.usgs.gov/api/"

#: The service API's rate limit per principal when ``MARSGIS_API_RATE_LIMIT`` is unset.
DEFAULT_API_RATE_LIMIT = "600/minute"
_PERIODS = {"second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86400.0}


@dataclass(frozen=True)
class Rate:
    """A rate limit: at most ``requests`` in any ``period_s`` seconds (a token bucket)."""

    requests: int
    period_s: float


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
    api_rate_limit: Rate | None
    redis_url: str | None
    hub_api_url: str | None = None
    hub_api_token: str | None = field(default=None, repr=False)
    api_prefix: str = ""
    api_db_roles: bool = False
    db_role_prefix: str = "marsgis"
    user: str | None = None
    memo_prefix: str = "marsgis:memo:"
    memo_max_bytes: int = 64 << 20
    spatialite: str = "mod_spatialite"

    @property
    def behind_hub(self) -> bool:
        """Whether the service API runs as a JupyterHub service (hub API URL and token set)."""
        return bool(self.hub_api_url and self.hub_api_token)


#: Every variable :func:`settings` reads (``tests/test_config.py`` checks this list against
#: what it reads), and those ``platformdirs`` reads for the default folders (``os.environ``).
_VARIABLES = (
    "DASK_GATEWAY__ADDRESS",
    "DASK_GATEWAY__AUTH__TYPE",
    "DASK_GATEWAY__PROXY_ADDRESS",
    "JUPYTERHUB_API_TOKEN",
    "JUPYTERHUB_API_URL",
    "JUPYTERHUB_SERVICE_PREFIX",
    "JUPYTERHUB_USER",
    "MARSGIS_API_DB_ROLES",
    "MARSGIS_API_PREFIX",
    "MARSGIS_API_RATE_LIMIT",
    "MARSGIS_CACHE_DIR",
    "MARSGIS_CACHE_TTL_DAYS",
    "MARSGIS_DATABASE_URL",
    "MARSGIS_DATA_DIR",
    "MARSGIS_DB_ROLE_PREFIX",
    "MARSGIS_GATEWAY_ADDRESS",
    "MARSGIS_GATEWAY_AUTH",
    "MARSGIS_GATEWAY_PROXY",
    "MARSGIS_GPU",
    "MARSGIS_MEMO_MB",
    "MARSGIS_MEMO_PREFIX",
    "MARSGIS_REDIS_URL",
    "MARSGIS_REPORTS_DIR",
    "MARSGIS_SPATIALITE",
    "MARSGIS_STAC_URL",
    "MARSGIS_USER",
)
_PLATFORM_VARIABLES = ("HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME")


def settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read the deployment settings from the environment (every call reads it afresh).

    The variables are read on every call; the :class:`Settings` built from them is remembered
    for those values (it is immutable), so a call in a request path costs a few lookups.

    Parameters
    ----------
    environ
        The variables to read (default: ``os.environ``).

    Raises
    ------
    ConfigurationError
        A variable has a value it does not accept; the message names it and what it accepts.
    """
    env = os.environ if environ is None else environ
    values = tuple(map(env.get, _VARIABLES))
    platform = tuple(map(os.environ.get, _PLATFORM_VARIABLES))
    return _settings(values, platform)


@functools.lru_cache(maxsize=32)
def _settings(values: tuple[str | None, ...], platform: tuple[str | None, ...]) -> Settings:
    del platform  # part of the key: platformdirs reads these from os.environ
    env = {name: value for name, value in zip(_VARIABLES, values, strict=True) if value is not None}
    return read_settings(env)


def read_settings(env: Mapping[str, str]) -> Settings:
    """The settings of the variables ``env``, built afresh (:func:`settings` remembers them)."""
    _check_gateway_auth(env)
    data_dir = Path(env.get("MARSGIS_DATA_DIR") or platformdirs.user_data_dir("marsgis"))
    cache_dir = Path(env.get("MARSGIS_CACHE_DIR") or platformdirs.user_cache_dir("marsgis"))
    database_url = env.get("MARSGIS_DATABASE_URL") or f"sqlite:///{data_dir / 'marsgis.sqlite'}"
    return Settings(
        database_url=database_url,
        data_dir=data_dir,
        cache_dir=cache_dir,
        stac_url=env.get("MARSGIS_STAC_URL") or DEFAULT_STAC_URL,
        cache_ttl_days=_ttl_days(env),
        # dask-gateway's own variables (set by JupyterHub deployments) when ours are unset
        gateway_address=env.get("MARSGIS_GATEWAY_ADDRESS")
        or env.get("DASK_GATEWAY__ADDRESS")
        or None,
        gateway_proxy_address=env.get("MARSGIS_GATEWAY_PROXY")
        or env.get("DASK_GATEWAY__PROXY_ADDRESS")
        or None,
        gateway_auth=env.get("MARSGIS_GATEWAY_AUTH") or env.get("DASK_GATEWAY__AUTH__TYPE") or None,
        gpu=_flag(env, "MARSGIS_GPU"),
        reports_dir=Path(env.get("MARSGIS_REPORTS_DIR") or data_dir / "reports"),
        # a JupyterHub service finds these set by the hub
        hub_api_url=env.get("JUPYTERHUB_API_URL") or None,
        hub_api_token=env.get("JUPYTERHUB_API_TOKEN") or None,
        api_prefix=_prefix(env),
        api_rate_limit=parse_rate(
            env.get("MARSGIS_API_RATE_LIMIT") or DEFAULT_API_RATE_LIMIT,
            name="MARSGIS_API_RATE_LIMIT",
        ),
        api_db_roles=_flag(env, "MARSGIS_API_DB_ROLES"),
        db_role_prefix=(env.get("MARSGIS_DB_ROLE_PREFIX") or "").strip() or "marsgis",
        redis_url=env.get("MARSGIS_REDIS_URL") or None,
        user=(env.get("MARSGIS_USER") or env.get("JUPYTERHUB_USER") or "").strip() or None,
        memo_prefix=env.get("MARSGIS_MEMO_PREFIX") or "marsgis:memo:",
        memo_max_bytes=_megabytes(env, "MARSGIS_MEMO_MB", 64.0),
        spatialite=(env.get("MARSGIS_SPATIALITE") or "").strip() or "mod_spatialite",
    )


def parse_rate(text: str, *, name: str = "rate_limit") -> Rate | None:
    """A rate ``"N/second"`` (``minute``, ``hour``, ``day``) as a :class:`Rate`; ``"off"`` → None.

    Examples
    --------
    >>> parse_rate("600/minute")
    Rate(requests=600, period_s=60.0)
    >>> parse_rate("off") is None
    True
    >>> parse_rate("ten/minute")
    Traceback (most recent call last):
    ...
    marsgis.exceptions.ConfigurationError: rate_limit='ten/minute' is not valid: expected N/second, N/minute, N/hour or N/day with N a whole number >= 1, e.g. 600/minute, or off
    """
    value = text.strip().lower()
    if value == "off":
        return None
    count, _, unit = value.partition("/")
    if not count.strip().isdigit() or int(count) < 1 or unit.strip() not in _PERIODS:
        raise _refuse(
            name,
            text,
            "N/second, N/minute, N/hour or N/day with N a whole number >= 1, e.g. 600/minute, "
            "or off",
        )
    return Rate(requests=int(count), period_s=_PERIODS[unit.strip()])


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_GATEWAY_AUTH = ("jupyterhub", "basic", "kerberos")


def _refuse(name: str, value: str, expected: str) -> ConfigurationError:
    return ConfigurationError(f"{name}={value!r} is not valid: expected {expected}")


def _ttl_days(env: Mapping[str, str]) -> float:
    text = env.get("MARSGIS_CACHE_TTL_DAYS") or ""
    if not text.strip():
        return 30.0
    try:
        days = float(text)
    except ValueError:
        days = math.nan
    if not (math.isfinite(days) and days >= 0):
        raise _refuse(
            "MARSGIS_CACHE_TTL_DAYS",
            text,
            "a number of days >= 0, e.g. 30 (unset it for the default, 30)",
        )
    return days


def _megabytes(env: Mapping[str, str], name: str, default: float) -> int:
    text = (env.get(name) or "").strip()
    try:
        value = float(text) if text else default
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise _refuse(name, env[name], "a number of megabytes >= 0, e.g. 64 (0 for none)")
    return int(value * (1 << 20))


def _flag(env: Mapping[str, str], name: str) -> bool:
    text = (env.get(name) or "").strip().lower()
    if not text:
        return False
    if text not in _TRUE + _FALSE:
        raise _refuse(name, env[name], f"one of {', '.join(_TRUE)} or {', '.join(_FALSE)}")
    return text in _TRUE


def _prefix(env: Mapping[str, str]) -> str:
    """``MARSGIS_API_PREFIX`` (else ``JUPYTERHUB_SERVICE_PREFIX``): ``/a/b``, no trailing slash."""
    name = "MARSGIS_API_PREFIX" if env.get("MARSGIS_API_PREFIX") else "JUPYTERHUB_SERVICE_PREFIX"
    text = (env.get(name) or "").strip()
    prefix = text.rstrip("/")
    if prefix and (not prefix.startswith("/") or "?" in prefix or "#" in prefix or "//" in prefix):
        raise _refuse(name, text, "a URL path such as /services/marsgis-api/ (or unset)")
    return prefix


def _check_gateway_auth(env: Mapping[str, str]) -> None:
    """``MARSGIS_GATEWAY_AUTH``: a dask-gateway auth type, or an import path of an auth class."""
    text = env.get("MARSGIS_GATEWAY_AUTH") or ""
    if text and text not in _GATEWAY_AUTH and "." not in text:
        raise _refuse(
            "MARSGIS_GATEWAY_AUTH",
            text,
            f"one of {', '.join(_GATEWAY_AUTH)}, or the import path of a dask-gateway "
            "auth class (package.module.Class)",
        )
