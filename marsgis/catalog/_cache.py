"""Download catalog assets into the on-disk cache and index them in ``mars_data_cache``.

A download streams to a temporary file inside the cache folder while its sha256 is computed,
is checked against the Item's checksum when it has one, and only then is renamed into place
(atomically) and recorded in the database. A failed download leaves the cache as it was.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

import pystac
import requests
from shapely.geometry import Polygon, box, shape

from marsgis.catalog._remote import remote_error
from marsgis.catalog._shipped import lonlat_bounds
from marsgis.config import settings
from marsgis.data import sha256_file
from marsgis.exceptions import DataNotFoundError, DatasetIntegrityError, ValidationError
from marsgis.io.atomic import atomic_path
from marsgis.progress import progress_bar

if TYPE_CHECKING:  # the database stack is imported when a function needs it
    from marsgis.db import DatabaseLike, Engine
    from marsgis.db.cache import CachedAsset

__all__ = ["cached_assets", "clear_expired", "fetch"]

_CHUNK = 1 << 20
_TIMEOUT_S = (10.0, 120.0)
_JSON_TYPES = ("application/json", "application/geo+json")
_MAX_ITEM_JSON = 16 << 20

# multihash function codes (https://github.com/multiformats/multicodec) -> hashlib name
_MULTIHASH = {0x11: "sha1", 0x12: "sha256", 0x13: "sha512", 0xD5: "md5"}

_VECTOR_TYPES = (
    "geo+json",
    "text/csv",
    "geopackage",
    "shapefile",
    "parquet",
    "flatgeobuf",
    "vnd.google-earth.kml",
)
_DEM_WORDS = re.compile(r"(dtm|dem|elevation|topograph|altimetr)", re.IGNORECASE)
_PROPERTY_KEYS = (
    "title",
    "datetime",
    "start_datetime",
    "end_datetime",
    "ssys:targets",
    "proj:code",
    "proj:epsg",
    "proj:shape",
    "gsd",
    "mission",
    "platform",
    "instruments",
    "license",
)


def _now() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------- checksums


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if not byte & 0x80:
            return value, pos
        shift += 7


def parse_multihash(text: str) -> tuple[str, str]:
    """``(hashlib algorithm name, hex digest)`` of a ``file:checksum`` multihash hex string.

    Raises
    ------
    ValidationError
        Not hex, truncated, or a hash function marsgis cannot compute.
    """
    try:
        raw = bytes.fromhex(text)
        code, pos = _varint(raw, 0)
        length, pos = _varint(raw, pos)
    except ValueError as exc:
        raise ValidationError(f"file:checksum {text!r} is not a hex multihash: {exc}") from None
    if code not in _MULTIHASH:
        raise ValidationError(
            f"file:checksum {text!r} uses multihash function 0x{code:x}; marsgis verifies "
            f"{sorted(_MULTIHASH.values())}"
        )
    digest = raw[pos:]
    if len(digest) != length:
        raise ValidationError(
            f"file:checksum {text!r} says {length} digest bytes, has {len(digest)}"
        )
    return _MULTIHASH[code], digest.hex()


def _expected_digest(asset: pystac.Asset, item: pystac.Item | None) -> tuple[str, str] | None:
    fields = asset.extra_fields
    if isinstance(fields.get("file:checksum"), str):
        return parse_multihash(fields["file:checksum"])
    for source in (fields, item.properties if item is not None else {}):
        value = source.get("marsgis:sha256")
        if isinstance(value, str):
            return "sha256", value.lower()
    return None


# --------------------------------------------------------------------------- metadata


def _item_bounds(item: pystac.Item) -> Polygon | None:
    geom = item.geometry
    if isinstance(geom, dict) and geom.get("type") == "Polygon":
        poly = shape(geom)
        return Polygon([(x, y) for x, y, *_ in poly.exterior.coords])
    if item.bbox is not None and len(item.bbox) >= 4:
        b = list(item.bbox)
        if len(b) == 6:  # 3-D bbox: (w, s, zmin, e, n, zmax)
            b = [b[0], b[1], b[3], b[4]]
        return box(*b)
    if isinstance(geom, dict):
        return box(*shape(geom).bounds)
    return None


def data_type_of(asset: pystac.Asset, item: pystac.Item | None, key: str = "") -> str:
    """``"dem"``, ``"image"``, ``"vector"``, ``"metadata"`` or ``"other"`` for an asset."""
    kind = item.properties.get("marsgis:kind") if item is not None else None
    roles = {r.lower() for r in (asset.roles or [])}
    mtype = (asset.media_type or "").lower()
    if "metadata" in roles:
        return "metadata"
    if kind in {"dem", "image", "vector"} and "data" in roles:
        return str(kind)
    if roles & {"dem", "dtm", "elevation"}:
        return "dem"
    if any(v in mtype for v in _VECTOR_TYPES):
        return "vector"
    if roles & {"thumbnail", "overview", "visual"}:
        return "image"
    if mtype.startswith("image/") or "tiff" in mtype or "jp2" in mtype:
        words = " ".join(
            [
                item.id if item else "",
                (item.collection_id or "") if item else "",
                asset.title or "",
                key,
            ]
        )
        return "dem" if _DEM_WORDS.search(words) else "image"
    return "other"


def _metadata(item: pystac.Item, key: str, asset: pystac.Asset) -> dict[str, Any]:
    props = {k: item.properties[k] for k in _PROPERTY_KEYS if k in item.properties}
    return {
        "item_id": item.id,
        "collection": item.collection_id,
        "item_href": item.get_self_href(),
        "asset_key": key,
        "media_type": asset.media_type,
        "roles": list(asset.roles or []),
        "title": asset.title,
        "properties": json.loads(json.dumps(props, default=str)),
    }


def _pick_asset(item: pystac.Item, asset: str | None) -> tuple[str, pystac.Asset]:
    if asset is not None:
        if asset not in item.assets:
            raise DataNotFoundError(
                f"item {item.id!r} has no asset {asset!r}; its assets are {sorted(item.assets)}"
            )
        return asset, item.assets[asset]
    if "data" in item.assets:
        return "data", item.assets["data"]
    for key, value in item.assets.items():
        if "data" in (value.roles or []):
            return key, value
    if len(item.assets) == 1:
        return next(iter(item.assets.items()))
    raise DataNotFoundError(
        f"item {item.id!r} has no 'data' asset; pick one with asset=, one of {sorted(item.assets)}"
    )


# --------------------------------------------------------------------------- transfer


def _is_url(href: str) -> bool:
    return urlparse(href).scheme in {"http", "https"}


def _local_path(href: str) -> Path:
    parsed = urlparse(href)
    return Path(unquote(parsed.path)) if parsed.scheme == "file" else Path(href).expanduser()


def _filename(href: str) -> str:
    name = Path(unquote(urlparse(href).path)).name if _is_url(href) else _local_path(href).name
    name = re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip(".")
    return name or "asset"


def _entry_dir(cache_dir: Path, href: str) -> Path:
    return cache_dir / "assets" / hashlib.sha256(href.encode()).hexdigest()[:20]


class _Source:
    """An open asset: its chunks, media type and (for JSON) the whole body when sniffed."""

    def __init__(self, href: str) -> None:
        self.href = href
        self.media_type = ""
        self._response: requests.Response | None = None
        self._file: IO[bytes] | None = None
        self._stream: Iterator[bytes] = iter(())
        self.head = b""
        self.size: int | None = None  # bytes, when the server or the file says
        if _is_url(href):
            try:
                resp = requests.get(href, stream=True, timeout=_TIMEOUT_S)
            except requests.RequestException as exc:
                raise remote_error(href, exc, doing="downloading", asset=True) from exc
            if resp.status_code >= 400:
                resp.close()
                raise remote_error(
                    href,
                    requests.HTTPError(f"HTTP {resp.status_code} {resp.reason}"),
                    doing="downloading",
                    asset=True,
                )
            self._response = resp
            self._stream = resp.iter_content(_CHUNK)
            self.media_type = resp.headers.get("Content-Type", "").split(";")[0].strip().lower()
            length = resp.headers.get("Content-Length", "")
            self.size = int(length) if length.isdigit() else None
        else:
            path = _local_path(href)
            if not path.is_file():
                raise DataNotFoundError(f"asset {href!r} does not exist (no file at {str(path)!r})")
            self._file = open(path, "rb")  # closed by close()
            self.size = path.stat().st_size
            self._stream = iter(self._read_file, b"")
            self.media_type = "application/json" if path.suffix.lower() in {".json"} else ""

    def sniff_item(self) -> pystac.Item | None:
        """Read the body when it is small JSON; return it as an Item if it is one."""
        if self.media_type not in _JSON_TYPES:
            return None
        buffer = bytearray(self.head)
        try:
            for chunk in self._stream:  # a for loop: an early break leaves the stream open
                buffer += chunk
                if len(buffer) > _MAX_ITEM_JSON:
                    break
        except requests.RequestException as exc:
            raise remote_error(self.href, exc, doing="downloading", asset=True) from exc
        body = self.head = bytes(buffer)
        try:
            doc = json.loads(body)
        except ValueError:
            return None
        if isinstance(doc, dict) and doc.get("type") == "Feature" and "assets" in doc:
            try:
                return pystac.Item.from_dict(doc, href=self.href, preserve_dict=False)
            except (pystac.STACError, KeyError, TypeError, ValueError) as exc:
                raise remote_error(
                    self.href, exc, doing="reading the STAC Item", asset=True
                ) from exc
        return None

    def chunks(self) -> Iterator[bytes]:
        if self.head:
            head, self.head = self.head, b""
            yield head
        try:
            yield from self._stream  # the one iterator sniff_item() also reads
        except requests.RequestException as exc:
            raise remote_error(self.href, exc, doing="downloading", asset=True) from exc

    def _read_file(self) -> bytes:
        return self._file.read(_CHUNK) if self._file is not None else b""

    def close(self) -> None:
        if self._response is not None:
            self._response.close()
        if self._file is not None:
            self._file.close()


def _download_bar(source: _Source, final: Path) -> Any:
    """Bytes received of ``source`` (:mod:`marsgis.progress`: drawn only when enabled)."""
    return progress_bar(
        total=source.size, desc=final.name, unit="B", unit_scale=True, unit_divisor=1024
    )


def _store(source: _Source, final: Path, expected: tuple[str, str] | None) -> tuple[str, int]:
    """Stream ``source`` to a temp file beside ``final``, verify, rename; return (sha256, size)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    sha = hashlib.sha256()
    other = hashlib.new(expected[0]) if expected and expected[0] != "sha256" else None
    size = 0
    try:
        with atomic_path(final) as tmp:
            with open(tmp, "wb") as fh, _download_bar(source, final) as bar:
                for chunk in source.chunks():
                    sha.update(chunk)
                    if other is not None:
                        other.update(chunk)
                    fh.write(chunk)
                    size += len(chunk)
                    bar.update(len(chunk))
            digest = sha.hexdigest()
            if expected is not None:
                actual = other.hexdigest() if other is not None else digest
                if actual != expected[1]:
                    raise DatasetIntegrityError(
                        f"download of {source.href!r} has {expected[0]} {actual}, but the item's "
                        f"checksum says {expected[1]}; nothing was cached. The server sent other "
                        "bytes than its catalog describes: retry later, or report it to the "
                        "catalog"
                    )
    except BaseException:
        with contextlib.suppress(OSError):
            final.parent.rmdir()  # only when empty: a previous good copy stays
        raise
    return digest, size


def _raster_footprint(path: Path) -> tuple[Polygon | None, str | None]:
    """Lon/lat bounds and data type of a downloaded raster, or ``(None, None)``."""
    import rasterio
    from rasterio.errors import RasterioError

    from marsgis.crs import is_mars_crs

    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                return None, None
            from pyproj import CRS

            crs = CRS.from_user_input(src.crs.to_wkt())
            if not is_mars_crs(crs):
                return None, None
            bounds = lonlat_bounds(tuple(src.bounds), crs)  # type: ignore[arg-type]
            kind = "dem" if src.count == 1 and src.dtypes[0].startswith("float") else "image"
            return box(*bounds), kind
    except (RasterioError, OSError):
        return None, None


def _fresh(row: CachedAsset | None, expected: tuple[str, str] | None, now: datetime) -> bool:
    if row is None or row.is_expired(now):
        return False
    path = Path(row.path)
    if not path.is_file():
        return False
    if expected is not None and expected[0] == "sha256" and expected[1] != row.sha256:
        return False
    return bool(row.sha256 is not None and sha256_file(path) == row.sha256)


def fetch(
    item_or_asset_href: pystac.Item | str,
    *,
    asset: str | None = None,
    db: str | Engine | None = None,
    cache_dir: str | Path | None = None,
    refresh: bool = False,
) -> Path:
    """Download a catalog asset into the cache (or reuse the cached copy) and return its path.

    Parameters
    ----------
    item_or_asset_href
        A :class:`pystac.Item` (from :func:`search` or :func:`shipped_catalog`), the URL of a
        STAC Item JSON, or the href of an asset itself (``http(s)://`` or a local path).
    asset
        Asset key of the Item; default ``"data"``, else the first asset with role ``data``.
    db
        Database URL or SQLAlchemy Engine for the cache index; default
        ``MARSGIS_DATABASE_URL`` (the SpatiaLite file in the user data dir).
    cache_dir
        Where files are stored; default ``settings().cache_dir`` (``MARSGIS_CACHE_DIR``).
    refresh
        Download again even when a fresh copy is cached.

    Returns
    -------
    pathlib.Path
        The cached file: ``marsgis.open_dem(fetch(item))`` opens a fetched DEM.

    Notes
    -----
    A cached copy is reused, without any HTTP request, while its index row has not expired
    (``expires_at = cached_at + MARSGIS_CACHE_TTL_DAYS``), its file exists and still has the
    recorded sha256 (and the Item's checksum, when given, agrees). Otherwise the asset is
    downloaded again and the row updated. An Item URL is always read (one small request) to
    learn its asset href.

    Raises
    ------
    DatasetIntegrityError
        The download does not match the Item's ``file:checksum`` / ``marsgis:sha256``; no file
        and no index row are left.
    RemoteCatalogError
        The server is unreachable or answered with an HTTP error.
    DataNotFoundError
        The Item has no such asset, or a local href does not exist.
    """
    root = Path(cache_dir).expanduser() if cache_dir is not None else settings().cache_dir
    from marsgis.db import cache as db_cache

    if isinstance(item_or_asset_href, pystac.Item):
        item = item_or_asset_href
        key, chosen = _pick_asset(item, asset)
        href = chosen.get_absolute_href() or chosen.href
        expected = _expected_digest(chosen, item)
        row = None if refresh else db_cache.find_asset(href, db=db)
        if row is not None and _fresh(row, expected, _now()):
            return Path(row.path)
        source = _Source(href)
        try:
            return _download(
                source,
                root,
                expected=expected,
                bounds=_item_bounds(item),
                data_type=data_type_of(chosen, item, key),
                metadata=_metadata(item, key, chosen),
                db=db,
            )
        finally:
            source.close()

    if not isinstance(item_or_asset_href, (str, os.PathLike)):
        raise ValidationError(
            f"fetch() takes a pystac.Item or an href string, not {type(item_or_asset_href).__name__}"
        )
    href = str(item_or_asset_href)
    if not _is_url(href):
        href = str(_local_path(href).resolve())
    row = None if refresh else db_cache.find_asset(href, db=db)
    if row is not None and _fresh(row, None, _now()):
        return Path(row.path)
    source = _Source(href)
    try:
        sniffed = source.sniff_item()
        if sniffed is not None:
            source.close()
            return fetch(sniffed, asset=asset, db=db, cache_dir=root, refresh=refresh)
        return _download(
            source, root, expected=None, bounds=None, data_type=None, metadata={}, db=db
        )
    finally:
        source.close()


def _download(
    source: _Source,
    root: Path,
    *,
    expected: tuple[str, str] | None,
    bounds: Polygon | None,
    data_type: str | None,
    metadata: dict[str, Any],
    db: str | Engine | None,
) -> Path:
    from marsgis.db import cache as db_cache

    final = _entry_dir(root, source.href) / _filename(source.href)
    sha, size = _store(source, final, expected)
    if bounds is None or data_type is None:
        footprint, kind = _raster_footprint(final)
        bounds = bounds if bounds is not None else footprint
        if data_type is None:
            if kind is not None:
                data_type = kind
            elif any(v in source.media_type for v in _VECTOR_TYPES):
                data_type = "vector"
            else:
                data_type = "other"
    cached_at = _now()
    expires_at = cached_at + timedelta(days=settings().cache_ttl_days)
    meta = {**metadata, "size": size}
    if source.media_type and not meta.get("media_type"):
        meta["media_type"] = source.media_type
    try:
        db_cache.record_asset(
            href=source.href,
            data_type=data_type,
            bounds=bounds,
            sha256=sha,
            metadata=meta,
            path=final,
            cached_at=cached_at,
            expires_at=expires_at,
            db=db,
        )
    except BaseException:
        with contextlib.suppress(OSError):
            final.unlink()
        raise
    return final


def cached_assets(
    bbox: Sequence[float] | None = None,
    *,
    data_type: str | None = None,
    db: DatabaseLike = None,
) -> list[CachedAsset]:
    """The cache index: every cached asset, or those whose bounds intersect ``bbox``.

    Parameters
    ----------
    bbox
        ``(west, south, east, north)`` in °E/°N; 0–360 and −180–180 longitudes both match.
    data_type
        Keep only ``"dem"``, ``"image"``, ``"vector"``, ...
    db
        Database URL, engine, open connection (default ``MARSGIS_DATABASE_URL``).

    Returns
    -------
    list of marsgis.db.cache.CachedAsset
    """
    from marsgis.db import cache as db_cache

    return db_cache.assets_within(bbox, data_type=data_type, db=db)


def clear_expired(db: str | Engine | None = None, *, now: datetime | None = None) -> list[str]:
    """Delete expired cache entries (their files and index rows); return their hrefs."""
    from marsgis.db import cache as db_cache

    removed: list[str] = []
    for row in db_cache.expired_assets(now or _now(), db=db):
        path = Path(row.path)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        with contextlib.suppress(OSError):
            path.parent.rmdir()
        db_cache.delete_asset(row.href, db=db)
        removed.append(row.href)
    return removed
