"""The remote STAC API client: pystac-client against ``settings().stac_url``.

The configured default is the USGS Astrogeology STAC API; ``MARSGIS_STAC_URL`` (or ``url=``)
points elsewhere. Every failure to reach the API or to read its answer becomes a
:class:`~marsgis.exceptions.RemoteCatalogError` that names the URL and the ways out.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from datetime import datetime as _datetime

import pystac
import requests
from pystac_client import Client
from pystac_client.exceptions import APIError
from pystac_client.warnings import DoesNotConformTo

from marsgis.config import settings
from marsgis.crs import validate_latlon
from marsgis.exceptions import RemoteCatalogError, ValidationError

__all__ = ["DEFAULT_MAX_ITEMS", "collections", "remote_error", "search", "stac_url"]

#: Default cap on the number of Items :func:`search` returns.
DEFAULT_MAX_ITEMS = 100

_TIMEOUT_S = 30.0

# What pystac / pystac-client / requests raise for an unreachable server or a bad answer.
_REMOTE_FAILURES: tuple[type[BaseException], ...] = (
    APIError,
    DoesNotConformTo,
    requests.RequestException,
    json.JSONDecodeError,
    pystac.STACError,
    KeyError,
    TypeError,
    ValueError,
)


def stac_url(url: str | None = None) -> str:
    """The STAC API URL to use: ``url`` or ``settings().stac_url`` (``MARSGIS_STAC_URL``)."""
    return url or settings().stac_url


def remote_error(
    url: str, exc: BaseException, *, doing: str, asset: bool = False
) -> RemoteCatalogError:
    """A :class:`RemoteCatalogError` for ``exc`` raised while ``doing`` something at ``url``.

    ``asset=True``: ``url`` is a file being downloaded, not a STAC API root.
    """
    if isinstance(exc, APIError) and getattr(exc, "status_code", None) is not None:
        body = str(exc).strip().replace("\n", " ")[:200]
        reason = f"HTTP {exc.status_code}: {body}"
    elif isinstance(exc, DoesNotConformTo):
        reason = f"the API does not offer {exc}".replace("Server does not conform to ", "")
    elif isinstance(exc, (json.JSONDecodeError, ValueError, KeyError, TypeError, pystac.STACError)):
        reason = f"the answer is not valid STAC JSON ({type(exc).__name__}: {exc})"
    else:
        reason = str(exc)
    if asset:
        return RemoteCatalogError(
            f"{doing} {url!r} failed: {reason}. Check that the server is reachable and the href "
            "is current (marsgis.catalog.search() returns fresh Items), or work offline with "
            "marsgis.catalog.shipped_catalog()"
        )
    return RemoteCatalogError(
        f"STAC API {url!r} failed while {doing}: {reason}. Point MARSGIS_STAC_URL (or url=) at a "
        "reachable STAC API, or work offline with marsgis.catalog.shipped_catalog()"
    )


def _open(url: str) -> Client:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return Client.open(url, timeout=_TIMEOUT_S)
    except _REMOTE_FAILURES as exc:
        raise remote_error(url, exc, doing="reading its landing page") from exc


def _check_bbox(bbox: Sequence[float]) -> list[float]:
    if len(bbox) != 4:
        raise ValidationError(f"bbox {bbox!r} must be (west, south, east, north) in degrees °E")
    west, south, east, north = (float(v) for v in bbox)
    validate_latlon([south, north], [west, east])
    if south > north:
        raise ValidationError(f"bbox {bbox!r}: south {south} is above north {north}")
    return [west, south, east, north]


def search(
    bbox: Sequence[float] | None = None,
    *,
    collections: str | Sequence[str] | None = None,
    datetime: str | _datetime | None = None,
    max_items: int | None = DEFAULT_MAX_ITEMS,
    url: str | None = None,
) -> list[pystac.Item]:
    """Search a STAC API for Items (STAC API - Item Search).

    Parameters
    ----------
    bbox
        ``(west, south, east, north)``: planetocentric degrees on Mars, longitudes east-positive
        (the convention of the remote catalog: 0–360 or −180–180 °E).
    collections
        A collection id or several; ``None`` searches all.
    datetime
        A datetime or an RFC 3339 interval such as ``"2010-01-01/2012-12-31"``.
    max_items
        Stop after this many Items (``None``: all the server returns, page after page).
    url
        The STAC API root; default ``marsgis.config.settings().stac_url``
        (``MARSGIS_STAC_URL``, the USGS Astrogeology STAC API unless set).

    Returns
    -------
    list of pystac.Item

    Raises
    ------
    RemoteCatalogError
        The API is unreachable, answered with an HTTP error or with something that is not
        STAC, or does not offer item search.
    ValidationError
        A malformed ``bbox``.
    """
    root = stac_url(url)
    box = _check_bbox(bbox) if bbox is not None else None
    colls = [collections] if isinstance(collections, str) else collections
    client = _open(root)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:  # builds the request only: bad arguments fail here, before any HTTP
            found = client.search(
                bbox=box,
                collections=list(colls) if colls is not None else None,
                datetime=datetime,
                max_items=max_items,
            )
        except DoesNotConformTo as exc:
            raise remote_error(root, exc, doing="searching items") from exc
        except Exception as exc:  # pystac-client raises bare Exception for a bad datetime
            raise ValidationError(
                f"search(datetime={datetime!r}, max_items={max_items!r}, ...): {exc}; give "
                "datetime as an RFC 3339 time or interval such as '2010-01-01/2012-12-31'"
            ) from exc
        try:
            return list(found.items())
        except _REMOTE_FAILURES as exc:
            raise remote_error(root, exc, doing="searching items") from exc


def collections(url: str | None = None) -> list[pystac.Collection]:
    """The collections a STAC API offers.

    Parameters
    ----------
    url
        The STAC API root; default ``marsgis.config.settings().stac_url``.

    Raises
    ------
    RemoteCatalogError
        The API is unreachable or answered badly.
    """
    root = stac_url(url)
    client = _open(root)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return list(client.get_collections())
    except _REMOTE_FAILURES as exc:
        raise remote_error(root, exc, doing="listing collections") from exc
