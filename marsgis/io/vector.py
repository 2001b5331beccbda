"""Vector features as GeoDataFrames in the Mars geographic CRS.

Shipped datasets: ``gazetteer`` (IAU nomenclature), ``craters`` (Robbins & Hynek sample),
``msl-traverse`` and ``m20-traverse`` (MMGIS rover traverses), ``msl-stops`` (Curiosity
end-of-drive stops, sols 3–4977) and ``msl-waypoints`` (MMGIS test-mission waypoints).
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from marsgis.crs import MARS_GEOGRAPHIC, require_mars_crs
from marsgis.data import VECTORS, data_path, vector_entry
from marsgis.exceptions import DataNotFoundError, OutputError, ValidationError
from marsgis.geo import lon180
from marsgis.io.atomic import atomic_path

__all__ = ["Feature", "gazetteer", "open_features", "write_features"]

#: Bradbury Landing and the local-frame scales of ``msl-stops`` (see its PROVENANCE.md).
_BRADBURY = (-4.5895, 137.4417)
_M_PER_PX_LON = 461.0008178752798
_M_PER_PX_LAT = 463.05766716974557


@dataclass(frozen=True)
class Feature:
    """A named feature from the IAU gazetteer (centre longitude in −180–180 °E).

    The gazetteer table itself (:func:`gazetteer` with no name) keeps the IAU file's 0–360 °E
    longitudes.
    """

    name: str
    lat: float
    lon: float
    diameter_km: float
    approval_status: str
    origin: str

    @property
    def centre(self) -> tuple[float, float]:
        """``(lat, lon)`` in planetocentric degrees, longitude −180–180 °E."""
        return (self.lat, self.lon)

    @property
    def radius_km(self) -> float:
        """Half the diameter, km."""
        return self.diameter_km / 2.0


#: Output drivers by file suffix.
_DRIVERS = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG"}


def write_features(gdf: gpd.GeoDataFrame, path: str | Path) -> Path:
    """Write features to GeoJSON (``.geojson``/``.json``) or GeoPackage (``.gpkg``), atomically.

    The file is written next to ``path``, read back (same number of features), and only then
    renamed over ``path`` (:mod:`marsgis.io.atomic`): a failed write — a full disk, say —
    leaves any previous file untouched.

    Parameters
    ----------
    gdf
        Features in a Mars CRS (as :mod:`marsgis.planning` returns them).
    path
        Output file; its folder is created if missing.

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    ValidationError
        Unknown suffix, or features without a Mars CRS.
    OutputError
        The file could not be written; the previous one is unchanged.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> craters = open_features("craters").head(3)
    >>> out = write_features(craters, pathlib.Path(tempfile.mkdtemp()) / "craters.geojson")
    >>> back = open_features(out)
    >>> len(back), back.crs.name
    (3, 'Mars (2015) - Sphere / Ocentric')
    """
    out = Path(path).expanduser()
    driver = _DRIVERS.get(out.suffix.lower())
    if driver is None:
        raise ValidationError(
            f"cannot tell the format of {str(out)!r} from its suffix; use one of "
            f"{sorted(_DRIVERS)} (GeoJSON or GeoPackage)"
        )
    require_mars_crs(gdf.crs, what="features to write")
    out.parent.mkdir(parents=True, exist_ok=True)

    def same_count(tmp: Path) -> None:
        import pyogrio
        from pyogrio.errors import DataLayerError, DataSourceError

        try:
            n = int(pyogrio.read_info(tmp)["features"])
        except (DataSourceError, DataLayerError) as exc:
            raise OutputError(f"the {driver} file written cannot be read back ({exc})") from exc
        if n != len(gdf):
            raise OutputError(f"the {driver} file written holds {n} of {len(gdf)} features")

    with atomic_path(out, check=same_count) as tmp:
        tmp.unlink()  # the drivers create their file (GPKG refuses an existing empty one)
        gdf.to_file(tmp, driver=driver, layer=out.stem)
    return out


def _mars(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return gdf.set_crs(MARS_GEOGRAPHIC, allow_override=True)


def _points(df: pd.DataFrame, lat: str, lon: str) -> gpd.GeoDataFrame:
    geom = gpd.points_from_xy(df[lon].astype(float), df[lat].astype(float))
    return _mars(gpd.GeoDataFrame(df, geometry=geom))


def _read_gazetteer() -> gpd.GeoDataFrame:
    df = pd.read_csv(data_path(VECTORS["gazetteer"].path))
    df = df.loc[:, [c for c in df.columns if not c.startswith("Unnamed")]]
    df = df.rename(
        columns={
            "Feature_Name": "name",
            "Diameter": "diameter_km",
            "Center_Latitude": "lat",
            "Center_Longitude": "lon",
            "Approval_Status": "approval_status",
            "Approval_Date": "approval_date",
            "Origin": "origin",
            "Target": "target",
            "Coordinate_System": "coordinate_system",
        }
    )
    return _points(df, "lat", "lon")


def _read_msl_stops() -> gpd.GeoDataFrame:
    doc = json.loads(data_path(VECTORS["msl-stops"].path).read_text())
    pts = pd.DataFrame(doc["points"])
    lat0, lon0 = _BRADBURY
    pts["lon"] = lon0 + pts["x"] / (_M_PER_PX_LON * 128.0)
    pts["lat"] = lat0 - pts["z"] / (_M_PER_PX_LAT * 128.0)
    pts = pts.rename(columns={"d": "odometry_m"})
    return _points(pts[["sol", "lat", "lon", "odometry_m", "x", "z"]], "lat", "lon")


def _read_waypoints() -> gpd.GeoDataFrame:
    df = pd.read_csv(data_path(VECTORS["msl-waypoints"].path))
    geom = gpd.GeoSeries.from_wkb(df["geom"].map(bytes.fromhex))
    df = df.drop(columns="geom")
    # Known defects of the source file (PROVENANCE.md): lat_dd = 0 rows and a positive elevation.
    df["valid"] = (df["lat_dd"] != 0) & (df["elev_m"] < 0)
    return _mars(gpd.GeoDataFrame(df, geometry=geom.values))


def _read_geojson(rel: str) -> gpd.GeoDataFrame:
    gdf = gpd.read_file(data_path(rel))
    # MMGIS writes GeoJSON, whose spec fixes CRS84 (Earth); these are Mars lon/lat °E.
    return _mars(gdf)


def _read_craters() -> gpd.GeoDataFrame:
    df = pd.read_csv(data_path(VECTORS["craters"].path), encoding="utf-8-sig")
    df = df.rename(
        columns={"LAT_CIRC_IMG": "lat", "LON_CIRC_IMG": "lon", "DIAM_CIRC_IMG": "diameter_km"}
    )
    return _points(df, "lat", "lon")


_READERS = {
    "gazetteer": _read_gazetteer,
    "craters": _read_craters,
    "msl-stops": _read_msl_stops,
    "msl-waypoints": _read_waypoints,
    "msl-traverse": lambda: _read_geojson(VECTORS["msl-traverse"].path),
    "m20-traverse": lambda: _read_geojson(VECTORS["m20-traverse"].path),
}


def open_features(source: str | Path, *, crs: Any = None) -> gpd.GeoDataFrame:
    """Open vector features as a GeoDataFrame in a Mars CRS.

    Parameters
    ----------
    source
        A shipped dataset name (``gazetteer``, ``craters``, ``msl-traverse``, ``m20-traverse``,
        ``msl-stops``, ``msl-waypoints``) or a path to any file geopandas reads.
    crs
        Declare the file's Mars CRS when the file cannot carry one (GeoJSON always says
        CRS84, an Earth CRS): ``open_features("route.geojson", crs="IAU_2015:49900")``.
    """
    src = str(source)
    if src in _READERS:
        vector_entry(src)
        return _READERS[src]()
    path = Path(src).expanduser()
    if not path.exists():
        raise DataNotFoundError(
            f"{src!r} is neither a shipped vector dataset {sorted(VECTORS)} nor an existing file"
        )
    gdf = gpd.read_file(path)
    if crs is not None:
        return gdf.set_crs(require_mars_crs(CRS.from_user_input(crs)), allow_override=True)
    file_crs = None if gdf.crs is None else CRS.from_user_input(gdf.crs)
    require_mars_crs(file_crs, what=f"file {src!r}")
    return gdf


def gazetteer(name: str | None = None) -> Any:
    """Look up IAU-named features.

    ``gazetteer()`` returns the whole gazetteer as a GeoDataFrame; ``gazetteer("Jezero")``
    returns a :class:`Feature` (case-insensitive; unknown names suggest close matches).
    """
    gdf = _gazetteer_cached()
    if name is None:
        return gdf.copy()
    key = name.strip().lower()
    hits = gdf[gdf["name"].str.lower() == key]
    if hits.empty:
        close = difflib.get_close_matches(name, gdf["name"].tolist(), n=5, cutoff=0.6)
        hint = f"; did you mean {close}?" if close else ""
        raise DataNotFoundError(f"no feature named {name!r} in the IAU gazetteer{hint}")
    approved = hits[hits["approval_status"] == "Approved"]
    row = (approved if not approved.empty else hits).iloc[0]
    return Feature(
        name=str(row["name"]),
        lat=float(row["lat"]),
        lon=lon180(float(row["lon"])),
        diameter_km=float(row["diameter_km"]) if np.isfinite(row["diameter_km"]) else float("nan"),
        approval_status=str(row["approval_status"]),
        origin=str(row["origin"]),
    )


_CACHE: dict[str, gpd.GeoDataFrame] = {}


def _gazetteer_cached() -> gpd.GeoDataFrame:
    if "gazetteer" not in _CACHE:
        _CACHE["gazetteer"] = _read_gazetteer()
    return _CACHE["gazetteer"]
