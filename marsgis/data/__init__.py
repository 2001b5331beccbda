"""Real Mars data shipped with marsgis, each file checked against its sha256 on load.

Raster names: ``mola``, ``gale-mola``, ``gale-1m``. Vector names: ``gazetteer``,
``craters``, ``msl-traverse``, ``m20-traverse``, ``msl-stops``, ``msl-waypoints``.
Provenance: ``PROVENANCE.md`` in each folder and ``INDEX.md`` here.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from marsgis._options import get_option
from marsgis.data._registry import FILES, RASTERS, VECTORS, RasterEntry, VectorEntry
from marsgis.exceptions import DataNotFoundError, DatasetIntegrityError

__all__ = [
    "DATA_DIR",
    "FILES",
    "RASTERS",
    "VECTORS",
    "RasterEntry",
    "VectorEntry",
    "content_sha256",
    "data_path",
    "list_datasets",
    "raster_entry",
    "sha256_file",
    "vector_entry",
    "verify_sha256",
]

DATA_DIR = Path(__file__).resolve().parent


def sha256_file(path: str | Path, *, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def verify_sha256(path: str | Path, expected: str) -> None:
    """Raise :class:`DatasetIntegrityError` unless ``path`` has sha256 ``expected``."""
    actual = sha256_file(path)
    if actual != expected:
        raise DatasetIntegrityError(
            f"file {str(path)!r} has sha256 {actual}, expected {expected}; the copy is damaged "
            "or was edited: restore it with `git checkout -- marsgis/data` or reinstall marsgis"
        )


@lru_cache(maxsize=64)
def _verified(rel: str, size: int, mtime_ns: int) -> bool:
    verify_sha256(DATA_DIR / rel, FILES[rel])
    return True


def data_path(rel: str) -> Path:
    """Absolute path of a shipped file, verified against its sha256 (once per process)."""
    if rel not in FILES:
        raise DataNotFoundError(f"{rel!r} is not a shipped file; known files: {sorted(FILES)}")
    path = DATA_DIR / rel
    if not path.exists():
        raise DataNotFoundError(
            f"shipped file {str(path)!r} is missing; reinstall marsgis or restore marsgis/data"
        )
    if get_option("verify_checksums"):
        st = path.stat()
        _verified(rel, st.st_size, st.st_mtime_ns)
    return path


def list_datasets() -> dict[str, list[str]]:
    """Names of the shipped datasets, by kind."""
    return {"rasters": sorted(RASTERS), "vectors": sorted(VECTORS)}


def raster_entry(name: str) -> RasterEntry:
    """The registry entry of a shipped DEM; unknown names list the known ones."""
    try:
        return RASTERS[name]
    except KeyError:
        raise DataNotFoundError(
            f"unknown dataset {name!r}; shipped DEMs are {sorted(RASTERS)} "
            "(or give a path to a GeoTIFF/COG or a PDS3 .lbl/.img)"
        ) from None


def content_sha256(name: str) -> str:
    """A sha256 naming the content of the shipped DEM ``name`` (all the files it is read from).

    Made from the registered sha256 of each of its files (the data file and its label or
    sidecar, which share its stem); the files are checked against those on load, so equal
    hashes mean equal data — a key for cached results (:mod:`marsgis.memo`).

    >>> len(content_sha256("gale-1m"))
    64
    >>> content_sha256("mola") == content_sha256("gale-mola")
    False
    """
    entry = raster_entry(name)
    stem = entry.path.rsplit(".", 1)[0]
    parts = sorted(f"{rel}={FILES[rel]}" for rel in FILES if rel.rsplit(".", 1)[0] == stem)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def vector_entry(name: str) -> VectorEntry:
    """The registry entry of a shipped vector dataset."""
    try:
        return VECTORS[name]
    except KeyError:
        raise DataNotFoundError(
            f"unknown vector dataset {name!r}; shipped ones are {sorted(VECTORS)}"
        ) from None
