"""PDS3 labels (ODL) and the IMG rasters they describe.

Supports IMG files with an attached label (the label at the start of the file, ``^IMAGE``
pointing at a record or byte offset) or a detached ``.lbl``. Reads ``LINES``,
``LINE_SAMPLES``, ``SAMPLE_TYPE``, ``SAMPLE_BITS``, ``SCALING_FACTOR``, ``OFFSET``,
``MISSING_CONSTANT`` and the ``IMAGE_MAP_PROJECTION`` group (simple cylindrical and
equirectangular grids, as the MOLA MEGDRs use).

Georeferencing follows the PDS3 Standards Reference (DSMAP): lines and samples are
1-based with the centre of the first pixel at 1.0, and for a simple cylindrical grid::

    lat = (LINE_PROJECTION_OFFSET - line) / MAP_RESOLUTION + CENTER_LATITUDE
    lon = (sample - SAMPLE_PROJECTION_OFFSET) / MAP_RESOLUTION + CENTER_LONGITUDE
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from marsgis.exceptions import LabelError

__all__ = ["ImageLayout", "image_layout", "parse_label", "read_image", "read_label"]

_SAMPLE_TYPES: dict[str, str] = {
    "MSB_INTEGER": ">i",
    "SUN_INTEGER": ">i",
    "MAC_INTEGER": ">i",
    "INTEGER": ">i",
    "LSB_INTEGER": "<i",
    "PC_INTEGER": "<i",
    "VAX_INTEGER": "<i",
    "MSB_UNSIGNED_INTEGER": ">u",
    "SUN_UNSIGNED_INTEGER": ">u",
    "MAC_UNSIGNED_INTEGER": ">u",
    "UNSIGNED_INTEGER": ">u",
    "LSB_UNSIGNED_INTEGER": "<u",
    "PC_UNSIGNED_INTEGER": "<u",
    "VAX_UNSIGNED_INTEGER": "<u",
    "IEEE_REAL": ">f",
    "FLOAT": ">f",
    "REAL": ">f",
    "PC_REAL": "<f",
}

_TOKEN = re.compile(
    r"""
    (?P<comment>/\*.*?\*/)
  | (?P<string>"[^"]*")
  | (?P<quoted>'[^']*')
  | (?P<unit><[^>]*>)
  | (?P<punct>[=(){},])
  | (?P<word>[^\s=(){},"'<>]+)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class Quantity:
    """A label value with a unit, e.g. ``3396.0 <KM>``."""

    value: Any
    unit: str


def _convert(word: str) -> Any:
    try:
        return int(word)
    except ValueError:
        pass
    try:
        return float(word)
    except ValueError:
        pass
    if "#" in word:  # based integer, e.g. 16#FF7FFFFB#
        parts = word.split("#")
        try:
            return int(parts[1], int(parts[0]))
        except (ValueError, IndexError):
            return word
    return word


def parse_label(text: str) -> dict[str, Any]:
    """Parse PDS3 ODL text into nested dicts (``OBJECT``/``GROUP`` blocks become dicts).

    Values are ``int``, ``float``, ``str``, tuples for ``(...)``/``{...}`` sets and
    :class:`Quantity` for values followed by ``<UNIT>``. Repeated keys become lists.
    """
    tokens = [(m.lastgroup, m.group()) for m in _TOKEN.finditer(text) if m.lastgroup != "comment"]
    root: dict[str, Any] = {}
    stack: list[dict[str, Any]] = [root]
    i = 0

    def put(target: dict[str, Any], key: str, value: Any) -> None:
        if key in target:
            prev = target[key]
            target[key] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            target[key] = value

    def value_at(j: int) -> tuple[Any, int]:
        kind, tok = tokens[j]
        if tok in "({":
            close = ")" if tok == "(" else "}"
            items: list[Any] = []
            j += 1
            while j < len(tokens) and tokens[j][1] != close:
                if tokens[j][1] == ",":
                    j += 1
                    continue
                item, j = value_at(j)
                items.append(item)
            return tuple(items), j + 1
        if kind == "string":
            val: Any = " ".join(tok[1:-1].split())
        elif kind == "quoted":
            val = tok[1:-1]
        else:
            val = _convert(tok)
        j += 1
        if j < len(tokens) and tokens[j][0] == "unit":
            val = Quantity(val, tokens[j][1][1:-1].strip())
            j += 1
        return val, j

    while i < len(tokens):
        kind, tok = tokens[i]
        if kind == "word" and tok.upper() == "END":
            break
        if kind != "word" or i + 1 >= len(tokens) or tokens[i + 1][1] != "=":
            raise LabelError(f"malformed PDS3 label near {tok!r}: expected 'KEY = VALUE'")
        key = tok.upper()
        value, i = value_at(i + 2)
        if key in {"OBJECT", "GROUP"}:
            block: dict[str, Any] = {}
            put(stack[-1], str(value).upper(), block)
            stack.append(block)
        elif key in {"END_OBJECT", "END_GROUP"}:
            if len(stack) == 1:
                raise LabelError(f"malformed PDS3 label: {key} = {value} without a matching start")
            stack.pop()
        else:
            put(stack[-1], key, value)
    return root


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Quantity) else value


def read_label(path: str | Path) -> tuple[dict[str, Any], Path]:
    """Read the label of ``path`` (an ``.lbl``, or an ``.img`` with an attached label).

    Returns the parsed label and the path of the data file it describes.
    """
    path = Path(path)
    if not path.exists():
        raise LabelError(f"no such file {str(path)!r}")
    if path.suffix.lower() == ".img":
        detached = _sibling(path, ".lbl")
        if detached is not None:
            return read_label(detached)
        head = path.read_bytes()[:65536]
        if not head.lstrip().upper().startswith((b"PDS_VERSION_ID", b"ODL_VERSION_ID")):
            raise LabelError(
                f"{str(path)!r} has neither an attached PDS3 label nor a detached .lbl beside it; "
                "put the product's .lbl next to the .img (same name) or open the label itself"
            )
        end = re.search(rb"(?m)^\s*END\s*$", head)
        text = head[: end.end() if end else len(head)].decode("latin-1")
        return parse_label(text), path
    text = path.read_text(encoding="latin-1")
    label = parse_label(text)
    pointer = label.get("^IMAGE")
    if pointer is None:
        raise LabelError(f"label {str(path)!r} has no ^IMAGE pointer; is it an image label?")
    name = pointer[0] if isinstance(pointer, tuple) else pointer
    if isinstance(name, str):
        data = _sibling(path.parent / name, Path(name).suffix) or path.parent / name
        if not data.exists():
            raise LabelError(
                f"label {str(path)!r} points at {name!r}, which is not in {str(path.parent)!r}"
            )
        return label, data
    return label, path  # attached label in a file with another extension


def _sibling(path: Path, suffix: str) -> Path | None:
    """Find ``path`` with ``suffix`` in its folder, ignoring the case of name and suffix."""
    want = (path.stem + suffix).lower()
    if not path.parent.exists():
        return None
    for candidate in path.parent.iterdir():
        if candidate.name.lower() == want:
            return candidate
    return None


@dataclass(frozen=True)
class ImageLayout:
    """Where the pixels are and how to decode them."""

    data_path: Path
    offset: int
    lines: int
    samples: int
    dtype: np.dtype[Any]
    scaling_factor: float
    value_offset: float
    missing: float | None
    projection: dict[str, Any]


def image_layout(
    label: dict[str, Any], data_path: Path, *, label_path: Path | None = None
) -> ImageLayout:
    """Work out the IMAGE layout from a parsed label, checking every required field."""
    where = str(label_path or data_path)
    image = label.get("IMAGE")
    if not isinstance(image, dict):
        raise LabelError(f"label of {where!r} has no OBJECT = IMAGE block")
    missing = [k for k in ("LINES", "LINE_SAMPLES", "SAMPLE_TYPE", "SAMPLE_BITS") if k not in image]
    if missing:
        raise LabelError(
            f"label of {where!r} lacks required IMAGE field(s) {missing}; add them to the label "
            "(see the PDS3 Standards Reference, IMAGE object)"
        )
    lines = int(_plain(image["LINES"]))
    samples = int(_plain(image["LINE_SAMPLES"]))
    bits = int(_plain(image["SAMPLE_BITS"]))
    stype = str(_plain(image["SAMPLE_TYPE"])).upper()
    if stype not in _SAMPLE_TYPES:
        raise LabelError(f"label of {where!r}: unsupported SAMPLE_TYPE {stype!r}")
    if bits not in (8, 16, 32, 64):
        raise LabelError(f"label of {where!r}: unsupported SAMPLE_BITS {bits!r}")
    if int(_plain(image.get("BANDS", 1))) != 1:
        raise LabelError(f"label of {where!r}: only single-band images are supported")
    dtype = np.dtype(f"{_SAMPLE_TYPES[stype]}{bits // 8}")
    if bits == 8:
        dtype = np.dtype("u1" if "UNSIGNED" in stype else "i1")
    pointer = label.get("^IMAGE")
    offset = 0
    record_bytes = int(_plain(label.get("RECORD_BYTES", 0)) or 0)
    target = pointer[-1] if isinstance(pointer, tuple) else pointer
    if isinstance(target, Quantity) and target.unit.upper() == "BYTES":
        offset = int(target.value) - 1
    elif isinstance(target, int):
        if record_bytes <= 0:
            raise LabelError(
                f"label of {where!r}: ^IMAGE is a record number but RECORD_BYTES is missing"
            )
        offset = (target - 1) * record_bytes
    expected = offset + lines * samples * dtype.itemsize
    actual = data_path.stat().st_size
    if actual < expected or (offset == 0 and actual != expected):
        raise LabelError(
            f"{str(data_path)!r} holds {actual} bytes but its label ({lines} lines × {samples} "
            f"samples × {dtype.itemsize} bytes from offset {offset}) needs {expected}; "
            "the label does not describe this file — check LINES, LINE_SAMPLES and SAMPLE_BITS"
        )
    mc = image.get("MISSING_CONSTANT", image.get("CORE_NULL"))
    return ImageLayout(
        data_path=data_path,
        offset=offset,
        lines=lines,
        samples=samples,
        dtype=dtype,
        scaling_factor=float(_plain(image.get("SCALING_FACTOR", 1.0))),
        value_offset=float(_plain(image.get("OFFSET", 0.0))),
        missing=None
        if mc is None or not isinstance(_plain(mc), (int, float))
        else float(_plain(mc)),
        projection=dict(label.get("IMAGE_MAP_PROJECTION", {})),
    )


def read_image(layout: ImageLayout) -> npt.NDArray[np.float32]:
    """Read and decode the pixels: scaled to physical units, missing values to NaN."""
    raw = np.memmap(
        layout.data_path,
        dtype=layout.dtype,
        mode="r",
        offset=layout.offset,
        shape=(layout.lines, layout.samples),
    )
    out = np.array(raw, dtype=np.float32)
    if layout.missing is not None:
        out[raw == layout.missing] = np.nan
    if layout.scaling_factor != 1.0 or layout.value_offset != 0.0:
        out = out * np.float32(layout.scaling_factor) + np.float32(layout.value_offset)
    return out


def projection_grid(
    layout: ImageLayout, *, where: str
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Pixel-centre latitudes (per line) and east longitudes (per sample) of a cylindrical grid."""
    proj = layout.projection
    if not proj:
        raise LabelError(
            f"label of {where!r} has no IMAGE_MAP_PROJECTION group; marsgis needs it to place the "
            "grid on Mars (add MAP_PROJECTION_TYPE, MAP_RESOLUTION, LINE/SAMPLE_PROJECTION_OFFSET)"
        )
    ptype = str(_plain(proj.get("MAP_PROJECTION_TYPE", ""))).upper().replace("_", " ")
    if ptype not in {"SIMPLE CYLINDRICAL", "EQUIRECTANGULAR"}:
        raise LabelError(f"label of {where!r}: map projection {ptype!r} is not supported yet")
    needed = ["MAP_RESOLUTION", "LINE_PROJECTION_OFFSET", "SAMPLE_PROJECTION_OFFSET"]
    absent = [k for k in needed if k not in proj]
    if absent:
        raise LabelError(f"label of {where!r}: IMAGE_MAP_PROJECTION lacks {absent}")
    if str(_plain(proj.get("POSITIVE_LONGITUDE_DIRECTION", "EAST"))).upper() != "EAST":
        raise LabelError(f"label of {where!r}: west-positive longitudes are not supported")
    res = float(_plain(proj["MAP_RESOLUTION"]))
    loff = float(_plain(proj["LINE_PROJECTION_OFFSET"]))
    soff = float(_plain(proj["SAMPLE_PROJECTION_OFFSET"]))
    clat = float(_plain(proj.get("CENTER_LATITUDE", 0.0)))
    clon = float(_plain(proj.get("CENTER_LONGITUDE", 0.0)))
    if ptype == "EQUIRECTANGULAR" and clat != 0.0:
        raise LabelError(
            f"label of {where!r}: equirectangular with CENTER_LATITUDE ≠ 0 not supported"
        )
    line = np.arange(1, layout.lines + 1, dtype=np.float64)
    sample = np.arange(1, layout.samples + 1, dtype=np.float64)
    lat = (loff - line) / res + (clat if ptype == "SIMPLE CYLINDRICAL" else 0.0)
    lon = (sample - soff) / res + clon
    return lat, lon


__all__ += ["Quantity", "projection_grid"]
