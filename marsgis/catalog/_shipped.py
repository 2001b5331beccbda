"""The datasets shipped with marsgis as a static STAC catalog, built from the data themselves.

Every Item's ``bbox`` and ``geometry`` are planetocentric longitude/latitude on Mars (°E, in the
data's own 0–360 convention), computed from the files: a DEM's ``rio.bounds()`` (transformed
to lon/lat for a projected DEM), a vector dataset's ``total_bounds``. Assets point at the
shipped files and carry their registry sha256 (``file:checksum`` multihash and
``marsgis:sha256``).
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pystac
from pyproj import CRS, Transformer

from marsgis.crs import MARS_EQC, MARS_GEOGRAPHIC
from marsgis.data import RASTERS, VECTORS, data_path
from marsgis.data._registry import FILES

__all__ = [
    "FILE_EXTENSION",
    "PROJ_EXTENSION",
    "SHIPPED_CATALOG_ID",
    "SSYS_EXTENSION",
    "TIMESTAMPS_EXTENSION",
    "multihash_sha256",
    "shipped_catalog",
    "write_shipped_catalog",
]

SHIPPED_CATALOG_ID = "marsgis-shipped"
DEM_COLLECTION_ID = "marsgis-dems"
VECTOR_COLLECTION_ID = "marsgis-vectors"

PROJ_EXTENSION = "https://stac-extensions.github.io/projection/v2.0.0/schema.json"
FILE_EXTENSION = "https://stac-extensions.github.io/file/v2.1.0/schema.json"
SSYS_EXTENSION = "https://stac-extensions.github.io/ssys/v1.1.0/schema.json"
TIMESTAMPS_EXTENSION = "https://stac-extensions.github.io/timestamps/v1.1.0/schema.json"

_GEOTIFF = "image/tiff; application=geotiff"

# Landing times (UTC) and the mean solar day, to date the rover datasets from their sol range.
_MSL_LANDING = datetime(2012, 8, 6, 5, 17, 57, tzinfo=UTC)
_M20_LANDING = datetime(2021, 2, 18, 20, 55, 0, tzinfo=UTC)
_SOL = timedelta(seconds=88_775.244)


def _utc(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def _sol(landing: datetime, sol: int) -> datetime:
    """Approximate UTC start of ``sol`` (sol 0 = landing sol); good to about one sol."""
    return landing + sol * _SOL


# name -> (start, end, published, extra properties). start == end means a single datetime.
# MOLA ranged from 1997-09-15 (first contact-orbit passes) until the laser stopped on
# 2001-06-30; the MEGDR label gives PRODUCT_RELEASE_DATE = 2003-05-01.
_MOLA_TIME = (_utc(1997, 9, 15), _utc(2001, 6, 30), _utc(2003, 5, 1))
_MOLA_PROPS: dict[str, Any] = {
    "mission": "Mars Global Surveyor",
    "platform": "mars-global-surveyor",
    "instruments": ["mola"],
}
_TIMES: dict[str, tuple[datetime, datetime, datetime | None, dict[str, Any]]] = {
    "mola": (*_MOLA_TIME, _MOLA_PROPS),
    "gale-mola": (*_MOLA_TIME, _MOLA_PROPS),
    # The acquisition date of the MMGIS DEM is not documented: the date is when the file was
    # published in NASA-AMMOS/MMGIS (commit c5569054, 2019-10-02).
    "gale-1m": (
        _utc(2019, 10, 2),
        _utc(2019, 10, 2),
        _utc(2019, 10, 2),
        {"mission": "Mars Science Laboratory", "gsd": 1.0},
    ),
    # Export made between the latest approval it holds (Jezero, 2007-07-25) and its copy
    # into jaanga/mars (2015-10-22).
    "gazetteer": (_utc(2007, 7, 25), _utc(2015, 10, 22), None, {}),
    # Robbins & Hynek catalogue, 2020 release.
    "craters": (_utc(2020, 1, 1), _utc(2020, 12, 31), None, {}),
    "msl-traverse": (
        _MSL_LANDING,
        _sol(_MSL_LANDING, 4868),
        None,
        {"mission": "Mars Science Laboratory"},
    ),
    "m20-traverse": (
        _sol(_M20_LANDING, 14),
        _sol(_M20_LANDING, 1840),
        None,
        {"mission": "Mars 2020"},
    ),
    "msl-stops": (
        _sol(_MSL_LANDING, 3),
        _sol(_MSL_LANDING, 4977),
        None,
        {"mission": "Mars Science Laboratory"},
    ),
    "msl-waypoints": (
        _sol(_MSL_LANDING, 3),
        _sol(_MSL_LANDING, 1782),
        None,
        {"mission": "Mars Science Laboratory"},
    ),
}

# Companion files of a DEM (besides the data file): asset key, path, media type, role.
_DEM_COMPANIONS: dict[str, list[tuple[str, str, str, str]]] = {
    "mola": [("label", "mola-megdr-4ppd/megt90n000cb.lbl", "text/plain", "metadata")],
    "gale-mola": [
        ("metadata", "gale-mola-128ppd-window/gale-mola.json", "application/json", "metadata")
    ],
}

_DEM_MEDIA_TYPES = {"pds3": "application/octet-stream", "gale-mola-bin": "application/octet-stream"}
# The registry opens a PDS3 DEM by its detached label; the data asset is the IMG it points to.
_DEM_DATA_FILES = {"mola": "mola-megdr-4ppd/megt90n000cb.img"}


def multihash_sha256(hex_digest: str) -> str:
    """The ``file:checksum`` multihash of a sha256 hex digest (``1220`` + digest)."""
    return "1220" + hex_digest.lower()


def _file_asset(rel: str, *, media_type: str, roles: list[str], title: str) -> pystac.Asset:
    path = data_path(rel)
    sha = FILES[rel]
    return pystac.Asset(
        href=str(path),
        media_type=media_type,
        roles=roles,
        title=title,
        extra_fields={
            "file:checksum": multihash_sha256(sha),
            "file:size": path.stat().st_size,
            "marsgis:sha256": sha,
        },
    )


def _box(west: float, south: float, east: float, north: float) -> dict[str, Any]:
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


def lonlat_bounds(bounds: tuple[float, float, float, float], crs: Any) -> list[float]:
    """``(west, south, east, north)`` in °E/°N of native ``bounds`` in the Mars ``crs``.

    Geographic bounds pass through; projected ones are transformed along a densified outline
    to :data:`marsgis.crs.MARS_GEOGRAPHIC`.
    """
    crs_obj = CRS.from_user_input(crs)
    if crs_obj.is_geographic:
        return [float(v) for v in bounds]
    left, bottom, right, top = bounds
    n = 21
    xs = np.concatenate(
        [
            np.linspace(left, right, n),
            np.full(n, right),
            np.linspace(right, left, n),
            np.full(n, left),
        ]
    )
    ys = np.concatenate(
        [
            np.full(n, bottom),
            np.linspace(bottom, top, n),
            np.full(n, top),
            np.linspace(top, bottom, n),
        ]
    )
    tr = Transformer.from_crs(crs_obj, CRS.from_user_input(MARS_GEOGRAPHIC), always_xy=True)
    lon, lat = tr.transform(xs, ys)
    return [float(np.min(lon)), float(np.min(lat)), float(np.max(lon)), float(np.max(lat))]


def _proj_fields(crs: Any) -> dict[str, Any]:
    crs_obj = CRS.from_user_input(crs)
    # GDAL writes IAU codes that pyproj cannot map back: recognise the marsgis CRSs by equality.
    code: str | None = next(
        (c for c in (MARS_GEOGRAPHIC, MARS_EQC) if crs_obj.equals(CRS.from_user_input(c))), None
    )
    if code is None:
        auth = crs_obj.to_authority(min_confidence=70)
        code = f"{auth[0]}:{auth[1]}" if auth is not None else None
    return {"proj:code": code, "proj:wkt2": crs_obj.to_wkt()}


def _temporal(name: str, props: dict[str, Any]) -> datetime | None:
    start, end, published, extra = _TIMES[name]
    props.update(extra)
    if published is not None:
        props["published"] = pystac.utils.datetime_to_str(published)
    if start == end:
        return start
    props["start_datetime"] = pystac.utils.datetime_to_str(start)
    props["end_datetime"] = pystac.utils.datetime_to_str(end)
    return None


def _dem_item(name: str) -> pystac.Item:
    from marsgis.io import open_dem

    entry = RASTERS[name]
    dem = open_dem(name)
    crs = dem.rio.crs
    native = tuple(float(v) for v in dem.rio.bounds())
    bbox = lonlat_bounds(native, crs)  # type: ignore[arg-type]
    transform = dem.rio.transform()
    props: dict[str, Any] = {
        "title": entry.title,
        "description": entry.description,
        "marsgis:kind": "dem",
        "ssys:targets": ["Mars"],
        **_proj_fields(crs),
        "proj:shape": [int(dem.sizes["y"]), int(dem.sizes["x"])],
        "proj:transform": [float(v) for v in tuple(transform)[:6]],
        "proj:bbox": list(native),
    }
    item = _new_item(name, bbox, props)
    media_type = _DEM_MEDIA_TYPES.get(entry.kind, _GEOTIFF)
    item.add_asset(
        "data",
        _file_asset(
            _DEM_DATA_FILES.get(name, entry.path),
            media_type=media_type,
            roles=["data"],
            title=entry.title,
        ),
    )
    for key, rel, mtype, role in _DEM_COMPANIONS.get(name, []):
        item.add_asset(key, _file_asset(rel, media_type=mtype, roles=[role], title=Path(rel).name))
    return item


def _new_item(name: str, bbox: list[float], props: dict[str, Any]) -> pystac.Item:
    """A STAC Item of a shipped dataset: its footprint box, time and extensions."""
    dt = _temporal(name, props)
    extensions = [PROJ_EXTENSION, FILE_EXTENSION, SSYS_EXTENSION]
    if "published" in props:
        extensions.append(TIMESTAMPS_EXTENSION)
    return pystac.Item(
        id=name,
        geometry=_box(*bbox),
        bbox=bbox,
        datetime=dt,
        properties=props,
        stac_extensions=extensions,
    )


def _vector_item(name: str) -> pystac.Item:
    from marsgis.io.vector import open_features

    entry = VECTORS[name]
    gdf = open_features(name)
    bbox = [float(v) for v in gdf.total_bounds]
    props: dict[str, Any] = {
        "title": entry.title,
        "marsgis:kind": "vector",
        "marsgis:features": len(gdf),
        "ssys:targets": ["Mars"],
        **_proj_fields(gdf.crs),
    }
    suffix = Path(entry.path).suffix.lower()
    if suffix == ".csv":
        media_type = "text/csv"
    elif name == "msl-stops":  # plain JSON (local metres), not GeoJSON
        media_type = "application/json"
    else:
        media_type = "application/geo+json"
    item = _new_item(name, bbox, props)
    item.add_asset(
        "data", _file_asset(entry.path, media_type=media_type, roles=["data"], title=entry.title)
    )
    return item


def _collection(
    cid: str, title: str, description: str, items: list[pystac.Item]
) -> pystac.Collection:
    extent = pystac.Extent.from_items(items)
    coll = pystac.Collection(
        id=cid,
        title=title,
        description=description,
        extent=extent,
        license="other",
        stac_extensions=[SSYS_EXTENSION],
        extra_fields={"ssys:targets": ["Mars"]},
    )
    coll.add_items(items)
    return coll


@lru_cache(maxsize=1)
def _build() -> pystac.Catalog:
    catalog = pystac.Catalog(
        id=SHIPPED_CATALOG_ID,
        title="marsgis shipped Mars datasets",
        description=(
            "Real Mars data shipped with marsgis (see marsgis/data/INDEX.md and each "
            "PROVENANCE.md): MOLA topography, the MMGIS 1 m Gale DEM, rover traverses, the IAU "
            "gazetteer and a crater sample. Coordinates are planetocentric lon/lat on Mars, °E."
        ),
    )
    dems = [_dem_item(name) for name in RASTERS]
    vectors = [_vector_item(name) for name in VECTORS]
    catalog.add_child(
        _collection(DEM_COLLECTION_ID, "Shipped Mars DEMs", "Digital elevation models.", dems)
    )
    catalog.add_child(
        _collection(
            VECTOR_COLLECTION_ID, "Shipped Mars vector datasets", "Points and lines.", vectors
        )
    )
    return catalog


def shipped_catalog() -> pystac.Catalog:
    """The shipped datasets as an in-memory static STAC catalog.

    The catalog holds two collections: ``marsgis-dems`` (Items ``mola``, ``gale-mola``,
    ``gale-1m``, the names :func:`marsgis.open_dem` takes) and ``marsgis-vectors`` (the names
    :func:`marsgis.open_features` takes). Each Item has its lon/lat ``bbox``/``geometry`` on
    Mars (°E), ``ssys:targets = ["Mars"]``, the ``proj:`` fields of its CRS and assets whose
    ``href`` is the shipped file with its sha256.

    Returns
    -------
    pystac.Catalog
        A fresh copy each call: editing it does not change later calls.

    Examples
    --------
    >>> import marsgis
    >>> cat = marsgis.catalog.shipped_catalog()
    >>> item = next(i for i in cat.get_items(recursive=True) if i.id == "gale-1m")
    >>> marsgis.open_dem(item.assets["data"].href).shape
    (337, 348)
    """
    return _build().full_copy()


def write_shipped_catalog(directory: str | Path, *, copy_assets: bool = False) -> Path:
    """Write the shipped catalog as a self-contained static STAC catalog under ``directory``.

    Parameters
    ----------
    directory
        Output folder (created); ``catalog.json`` is written at its root, one folder per
        collection and Item below, all links relative.
    copy_assets
        ``False`` (default): asset hrefs stay absolute paths to the installed data files.
        ``True``: copy each file into an ``assets/`` folder beside its Item JSON and make the
        asset hrefs relative, so the folder can be moved or published on its own.

    Returns
    -------
    pathlib.Path
        The path of the written ``catalog.json``.
    """
    root = Path(directory).expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    catalog = shipped_catalog()
    catalog.normalize_hrefs(str(root))
    if copy_assets:
        for item in catalog.get_items(recursive=True):
            asset_dir = Path(str(item.get_self_href())).parent / "assets"
            asset_dir.mkdir(parents=True, exist_ok=True)
            for asset in item.assets.values():
                src = Path(asset.href)
                dst = asset_dir / src.name
                shutil.copyfile(src, dst)
                asset.href = str(dst)
        catalog.make_all_asset_hrefs_relative()
    catalog.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)
    return root / "catalog.json"
