"""Atomic file output: a file is either the complete new one or the one that was there before.

Every file marsgis writes (GeoTIFFs, GeoJSON/GeoPackage, report notebooks and HTML, cached tiles,
model artefacts) goes through :func:`atomic_path`: the writer writes a temporary file in the
target's folder, which is flushed to disk (``fsync``), checked (a GeoTIFF's tiles must all lie
inside the file, a JSON document must parse, ...), and only then renamed over the target
(``os.replace``, atomic on POSIX and Windows) and the folder entry synced. On any failure — an
exception in the writer, a full disk, a file-size limit, a failed check — the temporary file is
removed, the previous file is left byte for byte as it was, and :class:`~marsgis.exceptions.
OutputError` (or the writer's own marsgis error) is raised.

Why our own: GDAL (and so rasterio, pyogrio) report a failed write on a full disk only as a
logged error and close the dataset "successfully", leaving a truncated file; the standard
library has no atomic replace with a check step. The pattern is the one of ``atomicwrites`` /
``os.replace`` recipes, with a format check in the middle.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from marsgis.exceptions import MarsGISError, OutputError

__all__ = [
    "atomic_path",
    "check_geotiff",
    "check_json",
    "write_bytes",
    "write_text",
]

Check = Callable[[Path], None]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync(path: Path) -> None:
    """Flush a file, or a folder's entries (POSIX), to the disk."""
    if path.is_dir() and os.name != "posix":  # pragma: no cover - Windows opens no folders
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        return f"the disk is full or a file-size limit was reached ({exc.strerror})"
    return str(exc) or type(exc).__name__


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], *, check: Check | None = None) -> Iterator[Path]:
    """Yield a temporary path to write; replace ``target`` with it only when all went well.

    Parameters
    ----------
    target
        The file to write. Its folder must exist. An existing file is replaced only once the new
        one is complete, synced and checked; its permission bits are kept.
    check
        Called with the temporary path after it is synced; raises if the file is not sound.

    Yields
    ------
    pathlib.Path
        A new, empty file next to ``target`` (same suffix, so drivers that go by the extension
        choose the same format). The writer may also replace it (GDAL recreates it).

    Raises
    ------
    OutputError
        The folder does not exist, the write failed (full disk, no permission) or the check
        failed. The previous file is untouched and no temporary file is left.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_path(folder / "note.txt") as tmp:
    ...     _ = tmp.write_text("sol 746")
    >>> (folder / "note.txt").read_text()
    'sol 746'
    """
    final = Path(target).expanduser()
    folder = final.parent
    if not folder.is_dir():
        raise OutputError(
            f"cannot write {str(final)!r}: the folder {str(folder)!r} does not exist; create it "
            "first (mkdir -p) or choose another output path"
        )
    try:
        fd, name = tempfile.mkstemp(
            prefix=f".{final.stem}.", suffix=f".tmp{final.suffix}", dir=folder
        )
    except OSError as exc:
        raise OutputError(
            f"cannot write {str(final)!r}: {_reason(exc)}; nothing was changed"
        ) from exc
    os.close(fd)
    tmp = Path(name)
    try:
        mode = final.stat().st_mode & 0o7777 if final.exists() else 0o666 & ~_umask()
        os.chmod(tmp, mode)
        yield tmp
        if not tmp.is_file():
            raise OutputError(f"the writer of {str(final)!r} left no file; nothing was changed")
        _fsync(tmp)
        if check is not None:
            try:
                check(tmp)
            except OutputError as exc:
                raise OutputError(
                    f"writing {str(final)!r} failed: {exc}; the disk may be full. The previous "
                    "file (if any) is unchanged — free some space or choose another folder"
                ) from exc
        os.replace(tmp, final)
        _fsync(folder)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, MarsGISError) or not isinstance(exc, Exception):
            raise
        if isinstance(exc, OSError) and exc.errno is not None:  # the file system refused
            raise OutputError(
                f"writing {str(final)!r} failed: {_reason(exc)}; the previous file (if any) is "
                "unchanged — free some space or choose another folder"
            ) from exc
        raise


def write_bytes(target: str | os.PathLike[str], data: bytes, *, check: Check | None = None) -> Path:
    """Write ``data`` to ``target`` atomically (see :func:`atomic_path`)."""
    final = Path(target).expanduser()
    with atomic_path(final, check=check) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
    return final


def write_text(
    target: str | os.PathLike[str],
    text: str,
    *,
    encoding: str = "utf-8",
    check: Check | None = None,
) -> Path:
    """Write ``text`` to ``target`` atomically (see :func:`atomic_path`).

    >>> import tempfile, pathlib, json
    >>> path = write_text(pathlib.Path(tempfile.mkdtemp()) / "a.json", '{"sol": 746}', check=check_json)
    >>> json.loads(path.read_text())
    {'sol': 746}
    """
    return write_bytes(target, text.encode(encoding), check=check)


def check_json(path: Path) -> None:
    """Raise :class:`OutputError` unless ``path`` holds one complete JSON document."""
    try:
        with open(path, encoding="utf-8") as fh:
            json.load(fh)
    except (ValueError, UnicodeDecodeError) as exc:
        raise OutputError(f"the JSON written does not parse ({exc})") from exc


def check_geotiff(path: Path) -> None:
    """Raise :class:`OutputError` unless every tile or strip of the GeoTIFF lies in the file.

    GDAL reports a write that hit a full disk only in its log; the file it closes then lacks
    tiles (or its directory). Reading the block offsets and sizes from the TIFF directory finds
    that without reading the pixels.
    """
    import rasterio
    from rasterio.errors import RasterioError

    size = path.stat().st_size
    try:
        with rasterio.open(path) as src:
            for bidx in src.indexes:
                for (row, col), _window in src.block_windows(bidx):
                    offset = src.get_tag_item(f"BLOCK_OFFSET_{col}_{row}", "TIFF", bidx=bidx)
                    nbytes = src.get_tag_item(f"BLOCK_SIZE_{col}_{row}", "TIFF", bidx=bidx)
                    if offset is None or nbytes is None:
                        raise OutputError(f"tile ({row}, {col}) was not written")
                    if int(offset) + int(nbytes) > size:
                        raise OutputError(
                            f"tile ({row}, {col}) ends at byte "
                            f"{int(offset) + int(nbytes)} but the file has {size} bytes"
                        )
    except RasterioError as exc:
        raise OutputError(
            f"the GeoTIFF written to {path.name!r} cannot be read back ({exc})"
        ) from exc
