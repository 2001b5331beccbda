"""PDS3 labels (ODL): parsing, the checks marsgis makes, and what they say about the pixels.

The pixels themselves are read by GDAL (:mod:`marsgis.io.bands`); this module reads the
label — attached at the start of an IMG (``^IMAGE`` pointing at a record or byte offset) or
a detached ``.lbl`` — checks it against the data file, and works out what GDAL's PDS driver
does not: the special values (``MISSING_CONSTANT`` in decimal or ``16#…#`` bit-pattern
notation, ``CORE_NULL`` and the saturation constants, the ISIS special pixels of each type)
and the DSMAP georeferencing.

Georeferencing follows the PDS3 Standards Reference (DSMAP): lines and samples are
1-based with the centre of the first pixel at 1.0. A simple cylindrical grid (or an
equirectangular one whose standard parallel is the equator) is a lon/lat grid::

    lat = (LINE_PROJECTION_OFFSET - line) / MAP_RESOLUTION + CENTER_LATITUDE
    lon = (sample - SAMPLE_PROJECTION_OFFSET) / MAP_RESOLUTION + CENTER_LONGITUDE

Any other projection (equirectangular with ``CENTER_LATITUDE`` ≠ 0 as HiRISE DTMs use,
sinusoidal as HRSC DTMs use, polar stereographic…) is a grid in metres::

    x = (sample - SAMPLE_PROJECTION_OFFSET) * MAP_SCALE
    y = (LINE_PROJECTION_OFFSET - line) * MAP_SCALE
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from marsgis.exceptions import LabelError

__all__ = ["ImageLayout", "image_layout", "parse_label", "read_label"]

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
            return BasedInteger(int(parts[1], int(parts[0])), word)
        except (ValueError, IndexError):
            return word
    return word


class BasedInteger(int):
    """An ODL based integer (``16#FF7FFFFB#``, ``2#1010#``): its value, and the text as written.

    For a special constant of a float image the text is a bit pattern, not a number.
    """

    text: str

    def __new__(cls, value: int, text: str) -> BasedInteger:
        obj = super().__new__(cls, value)
        obj.text = text
        return obj

    def __getnewargs__(self) -> tuple[int, str]:  # type: ignore[override]
        return (int(self), self.text)


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
        if j >= len(tokens):
            raise LabelError("malformed PDS3 label: the text ends after 'KEY =' without a value")
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
        if (
            kind == "word"
            and tok.upper() in {"END_OBJECT", "END_GROUP"}
            and (i + 1 >= len(tokens) or tokens[i + 1][1] != "=")
        ):  # ``END_OBJECT`` may stand alone (PDS3 and ISIS PVL)
            if len(stack) == 1:
                raise LabelError(f"malformed PDS3 label: {tok} without a matching start")
            stack.pop()
            i += 1
            continue
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
    name = pointer[0] if isinstance(pointer, tuple) and pointer else pointer
    if isinstance(name, str):
        try:
            data = _sibling(path.parent / name, Path(name).suffix) or path.parent / name
            found = bool(name.strip()) and data.is_file()
        except (OSError, ValueError):
            found = False
        if not found:
            raise LabelError(
                f"label {str(path)!r} points at {name!r}, which is not in {str(path.parent)!r}"
            )
        return label, data
    return label, path  # attached label in a file with another extension


def label_file(path: str | Path) -> Path:
    """The file holding the label of ``path``: the ``.lbl`` beside an ``.img``, else ``path``."""
    path = Path(path)
    if path.suffix.lower() == ".img":
        return _sibling(path, ".lbl") or path
    return path


def _sibling(path: Path, suffix: str) -> Path | None:
    """Find ``path`` with ``suffix`` in its folder, ignoring the case of name and suffix."""
    want = (path.stem + suffix).lower()
    if not path.parent.exists():
        return None
    for candidate in path.parent.iterdir():
        if candidate.name.lower() == want:
            return candidate
    return None


def _number(block: dict[str, Any], key: str, *, where: str, default: Any = None) -> float:
    """``block[key]`` as a float, or a :class:`LabelError` naming the key and the value."""
    raw = block.get(key, default)
    value = _plain(raw)
    if isinstance(value, str) and value.upper().startswith("16#"):
        value = _convert(value)
    try:
        finite = isinstance(value, (int, float)) and bool(np.isfinite(float(value)))
    except OverflowError:
        finite = False
    if isinstance(value, bool) or not finite:
        raise LabelError(
            f"label of {where!r}: {key} = {raw!r} is not a finite number; fix the label "
            "(see the PDS3 Standards Reference)"
        )
    return float(value)


def _count(block: dict[str, Any], key: str, *, where: str) -> int:
    value = _number(block, key, where=where)
    if value != int(value) or value < 1:
        raise LabelError(
            f"label of {where!r}: {key} = {block.get(key)!r} must be a whole number ≥ 1"
        )
    return int(value)


#: Names under which PDS3 (and ISIS-exported) labels give values that are not data.
SPECIAL_KEYS = (
    "MISSING_CONSTANT",
    "MISSING",
    "INVALID_CONSTANT",
    "NULL",
    "CORE_NULL",
    "LOW_REPR_SATURATION",
    "LOW_INSTR_SATURATION",
    "HIGH_REPR_SATURATION",
    "HIGH_INSTR_SATURATION",
    "CORE_LOW_REPR_SATURATION",
    "CORE_LOW_INSTR_SATURATION",
    "CORE_HIGH_REPR_SATURATION",
    "CORE_HIGH_INSTR_SATURATION",
)

#: The ISIS special pixel values (NULL, LRS, LIS, HIS, HRS) of the integer pixel types whose
#: values are unambiguous (ISIS SpecialPixel.h). For 8-bit and 32-bit integers only the values
#: the label names are taken out.
ISIS_SPECIAL_INTEGERS: dict[str, tuple[int, ...]] = {
    "int16": (-32768, -32767, -32766, -32765, -32764),
    "uint16": (0, 1, 2, 65534, 65535),
}

#: The ISIS/PDS float32 NULL (``16#FF7FFFFB#``, −3.4028226550889045e38). It and the four other
#: special values (LRS, LIS, HIS, HRS: ``16#FF7FFFFC#``…``16#FF7FFFFF#``) are the five most
#: negative float32 values; anything at or below it is not data, in float32 or float64.
ISIS_NULL_FLOAT32 = float(np.frombuffer(bytes.fromhex("FF7FFFFB"), dtype=">f4")[0])


def _as_sample(value: Any, dtype: np.dtype[Any]) -> float | None:
    """A label constant as a value of the pixel type (``16#…#`` is the pixel's bit pattern)."""
    value = _plain(value)
    if isinstance(value, BasedInteger):
        value = value.text
    if isinstance(value, str):
        text = value.strip().upper()
        if text.startswith(("2#", "8#")) and text.endswith("#"):
            try:
                return float(int(text.split("#")[1], int(text.split("#")[0])))
            except ValueError:
                return None
        if text.startswith("16#") and text.endswith("#"):
            try:
                bits = int(text[3:-1], 16)
            except ValueError:
                return None
            if bits >= 1 << (8 * dtype.itemsize):
                return None
            raw = bits.to_bytes(dtype.itemsize, "big")
            return float(np.frombuffer(raw, dtype=dtype.newbyteorder(">"))[0])
        try:
            return float(text)
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def hex_or_number(text: str, dtype: np.dtype[Any]) -> float | None:
    """A special constant as written in a label: decimal, ``16#…#`` (PDS3) or ``0x…`` (PDS4).

    Hexadecimal constants are the bit pattern of a pixel of type ``dtype`` (so
    ``16#FF7FFFFB#`` of a float32 image is −3.4028226550889045e38). ``None`` when unreadable.
    """
    t = text.strip().upper()
    if t.startswith("0X"):
        t = "16#" + t[2:] + "#"
    return _as_sample(t, np.dtype(dtype))


def special_values(image: dict[str, Any], dtype: np.dtype[Any]) -> tuple[float, ...]:
    """Raw pixel values that are not data: those the label names plus the ISIS ones of the type."""
    out: list[float] = []
    for key in SPECIAL_KEYS:
        if key in image:
            v = _as_sample(image[key], dtype)
            if v is not None and not np.isnan(v) and v not in out:
                out.append(v)
    for v in ISIS_SPECIAL_INTEGERS.get(dtype.newbyteorder("=").name, ()):
        if float(v) not in out:
            out.append(float(v))
    return tuple(out)


def not_data(raw: npt.NDArray[Any], special: tuple[float, ...]) -> npt.NDArray[np.bool_]:
    """Mask of the raw pixels that are not data (special values, non-finite, ISIS floats)."""
    mask = np.zeros(raw.shape, dtype=bool)
    if raw.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            mask |= ~np.isfinite(raw) | (raw <= ISIS_NULL_FLOAT32)
    for v in special:
        mask |= raw == v
    return mask


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
    special: tuple[float, ...]
    projection: dict[str, Any]
    sample_type: str = ""

    @property
    def missing(self) -> float | None:
        """The first special value (the label's ``MISSING_CONSTANT`` when it has one)."""
        return self.special[0] if self.special else None


def image_layout(
    label: dict[str, Any], data_path: Path, *, label_path: Path | None = None
) -> ImageLayout:
    """Work out the IMAGE layout from a parsed label, checking every required field."""
    where = str(label_path or data_path)
    image = label.get("IMAGE")
    if isinstance(image, list):
        raise LabelError(f"label of {where!r} has {len(image)} IMAGE objects; marsgis reads one")
    if not isinstance(image, dict):
        raise LabelError(f"label of {where!r} has no OBJECT = IMAGE block")
    missing = [k for k in ("LINES", "LINE_SAMPLES", "SAMPLE_TYPE", "SAMPLE_BITS") if k not in image]
    if missing:
        raise LabelError(
            f"label of {where!r} lacks required IMAGE field(s) {missing}; add them to the label "
            "(see the PDS3 Standards Reference, IMAGE object)"
        )
    lines = _count(image, "LINES", where=where)
    samples = _count(image, "LINE_SAMPLES", where=where)
    bits = _count(image, "SAMPLE_BITS", where=where)
    stype = str(_plain(image["SAMPLE_TYPE"])).upper()
    if stype not in _SAMPLE_TYPES:
        raise LabelError(f"label of {where!r}: unsupported SAMPLE_TYPE {stype!r}")
    if bits not in (8, 16, 32, 64) or (_SAMPLE_TYPES[stype].endswith("f") and bits < 32):
        raise LabelError(f"label of {where!r}: unsupported SAMPLE_BITS {bits!r} for {stype}")
    if _number(image, "BANDS", where=where, default=1) != 1:
        raise LabelError(f"label of {where!r}: only single-band images are supported")
    dtype = np.dtype(f"{_SAMPLE_TYPES[stype]}{bits // 8}")
    if bits == 8:
        dtype = np.dtype("u1" if "UNSIGNED" in stype else "i1")
    pointer = label.get("^IMAGE")
    offset = 0
    record_bytes = int(_number(label, "RECORD_BYTES", where=where, default=0))
    target = pointer[-1] if isinstance(pointer, tuple) and pointer else pointer
    if isinstance(target, Quantity) and str(target.unit).upper() == "BYTES":
        if not isinstance(target.value, int) or target.value < 1:
            raise LabelError(f"label of {where!r}: ^IMAGE = {pointer!r} is not a byte position")
        offset = int(target.value) - 1
    elif isinstance(target, int) and not isinstance(target, bool):
        if record_bytes <= 0:
            raise LabelError(
                f"label of {where!r}: ^IMAGE is a record number but RECORD_BYTES is missing"
            )
        if target < 1:
            raise LabelError(f"label of {where!r}: ^IMAGE = {pointer!r} must be ≥ 1")
        offset = (target - 1) * record_bytes
    elif not isinstance(target, str):
        raise LabelError(
            f"label of {where!r}: ^IMAGE = {pointer!r} is neither a file name, a record "
            "number nor a byte position"
        )
    expected = offset + lines * samples * dtype.itemsize
    actual = data_path.stat().st_size
    if actual < expected or (offset == 0 and actual != expected):
        raise LabelError(
            f"{str(data_path)!r} holds {actual} bytes but its label ({lines} lines × {samples} "
            f"samples × {dtype.itemsize} bytes from offset {offset}) needs {expected}; "
            "the label does not describe this file — check LINES, LINE_SAMPLES and SAMPLE_BITS"
        )
    proj = label.get("IMAGE_MAP_PROJECTION", {})
    return ImageLayout(
        data_path=data_path,
        offset=offset,
        lines=lines,
        samples=samples,
        dtype=dtype,
        scaling_factor=_number(image, "SCALING_FACTOR", where=where, default=1.0),
        value_offset=_number(image, "OFFSET", where=where, default=0.0),
        special=special_values(image, dtype),
        projection=dict(proj) if isinstance(proj, dict) else {},
        sample_type=stype,
    )


def decode(raw: npt.NDArray[Any], layout: ImageLayout) -> npt.NDArray[np.float32]:
    """Stored values to physical ones: special values to NaN, then scaling and offset."""
    out = np.array(raw, dtype=np.float32)
    out[not_data(raw, layout.special)] = np.nan
    if layout.scaling_factor != 1.0 or layout.value_offset != 0.0:
        out = out * np.float32(layout.scaling_factor) + np.float32(layout.value_offset)
    return out


@dataclass(frozen=True)
class Grid:
    """Pixel-centre coordinates of a PDS3 map-projected image.

    ``geographic``: ``x`` is east longitude and ``y`` planetocentric latitude, in degrees
    (simple cylindrical grids, and equirectangular ones whose standard parallel is the
    equator). Otherwise ``x``/``y`` are metres in the projection the label names, and
    ``transform`` is the affine of the pixel corners (GDAL order).
    """

    x: npt.NDArray[np.float64]
    y: npt.NDArray[np.float64]
    geographic: bool
    projection: str
    transform: tuple[float, float, float, float, float, float] | None = None


_LENGTH_UNITS = {"KM": 1000.0, "M": 1.0, "METER": 1.0, "METERS": 1.0, "METRE": 1.0, "CM": 0.01}


def _map_scale_m(proj: dict[str, Any], *, where: str) -> float:
    """``MAP_SCALE`` in metres per pixel (its unit, or MAP_RESOLUTION when it has none)."""
    raw = proj.get("MAP_SCALE")
    value = _number(proj, "MAP_SCALE", where=where)
    if value <= 0:
        raise LabelError(f"label of {where!r}: MAP_SCALE = {raw!r} must be positive")
    if isinstance(raw, Quantity):
        unit = str(raw.unit).upper().replace(" ", "").split("/")[0]
        if unit in _LENGTH_UNITS:
            return value * _LENGTH_UNITS[unit]
    if "MAP_RESOLUTION" in proj:  # no usable unit: pick the reading that agrees with it
        radius = _number(proj, "A_AXIS_RADIUS", where=where, default=3396.19) * 1000.0
        res = _number(proj, "MAP_RESOLUTION", where=where)
        if res > 0:
            expect = np.pi * radius / 180.0 / res
            return min((value, value * 1000.0), key=lambda v: abs(np.log(v / expect)))
    return value * 1000.0  # the PDS3 default unit is KM/PIXEL


def projection_grid(layout: ImageLayout, *, where: str) -> Grid:
    """Pixel-centre coordinates of the image, from ``IMAGE_MAP_PROJECTION``.

    Follows the PDS3 Standards Reference (DSMAP): lines and samples count from 1 with the
    centre of the first pixel at 1.0, ``x = (sample − SAMPLE_PROJECTION_OFFSET) · MAP_SCALE``
    and ``y = (LINE_PROJECTION_OFFSET − line) · MAP_SCALE``. (GDAL's PDS driver reads the
    offsets one pixel off unless ``PDS_SampleProjOffset_Shift=-0.5`` and
    ``PDS_LineProjOffset_Shift=-0.5`` are set; its own documentation says so for the MEGDRs.)
    """
    proj = layout.projection
    if not proj:
        raise LabelError(
            f"label of {where!r} has no IMAGE_MAP_PROJECTION group; marsgis needs it to place the "
            "grid on Mars (add MAP_PROJECTION_TYPE, MAP_RESOLUTION, LINE/SAMPLE_PROJECTION_OFFSET)"
        )
    ptype = " ".join(
        str(_plain(proj.get("MAP_PROJECTION_TYPE", ""))).upper().replace("_", " ").split()
    )
    if str(_plain(proj.get("POSITIVE_LONGITUDE_DIRECTION", "EAST"))).upper() != "EAST":
        raise LabelError(f"label of {where!r}: west-positive longitudes are not supported")
    absent = [k for k in ("LINE_PROJECTION_OFFSET", "SAMPLE_PROJECTION_OFFSET") if k not in proj]
    if absent:
        raise LabelError(f"label of {where!r}: IMAGE_MAP_PROJECTION lacks {absent}")
    loff = _number(proj, "LINE_PROJECTION_OFFSET", where=where)
    soff = _number(proj, "SAMPLE_PROJECTION_OFFSET", where=where)
    clat = _number(proj, "CENTER_LATITUDE", where=where, default=0.0)
    clon = _number(proj, "CENTER_LONGITUDE", where=where, default=0.0)
    line = np.arange(1, layout.lines + 1, dtype=np.float64)
    sample = np.arange(1, layout.samples + 1, dtype=np.float64)
    cylindrical = ptype in {"SIMPLE CYLINDRICAL", "EQUIRECTANGULAR"}
    if cylindrical and (ptype == "SIMPLE CYLINDRICAL" or clat == 0.0) and "MAP_RESOLUTION" in proj:
        res = _number(proj, "MAP_RESOLUTION", where=where)
        if not res > 0:
            raise LabelError(f"label of {where!r}: MAP_RESOLUTION must be positive")
        lat = (loff - line) / res + (clat if ptype == "SIMPLE CYLINDRICAL" else 0.0)
        lon = (sample - soff) / res + clon
        if not (np.all(np.abs(lat) <= 90.0 + 0.5 / res) and np.all(np.isfinite(lon))):
            raise LabelError(
                f"label of {where!r}: LINE_PROJECTION_OFFSET {loff!r} and MAP_RESOLUTION {res!r} "
                "put the grid beyond the poles; fix the label"
            )
        return Grid(
            x=np.asarray(lon, dtype=np.float64),
            y=np.asarray(lat, dtype=np.float64),
            geographic=True,
            projection=ptype,
        )
    if "MAP_SCALE" not in proj:
        raise LabelError(f"label of {where!r}: IMAGE_MAP_PROJECTION lacks ['MAP_SCALE']")
    scale = _map_scale_m(proj, where=where)
    x0 = (0.5 - soff) * scale
    y0 = (loff - 0.5) * scale
    # pixel centres as rioxarray computes them from the transform
    x = x0 + (np.arange(layout.samples) + 0.5) * scale
    y = y0 - (np.arange(layout.lines) + 0.5) * scale
    return Grid(
        x=np.asarray(x, dtype=np.float64),
        y=np.asarray(y, dtype=np.float64),
        geographic=False,
        projection=ptype,
        transform=(x0, scale, 0.0, y0, 0.0, -scale),
    )


__all__ += [
    "Grid",
    "Quantity",
    "label_file",
    "decode",
    "not_data",
    "projection_grid",
    "special_values",
]
