"""Open Mars DEMs as DataArrays: shipped datasets by name, PDS3/PDS4/ISIS3 products, GeoTIFF/COG.

Pixels are read by GDAL's own drivers (PDS, PDS4, ISIS3, GTiff… through rasterio), window by
window (:mod:`marsgis.io.bands`); marsgis adds its label checks and messages on top
(:mod:`marsgis.io.pds3`), the special values of planetary products as NaN, and for PDS3 the
DSMAP georeferencing GDAL's PDS driver reads one pixel off.

Every DEM returned satisfies one contract: dims ``("y", "x")`` (x = longitude °E or easting),
the CRS written with rioxarray (``IAU_2015:49900`` for lon/lat grids on a Mars sphere, the
file's own Mars CRS otherwise — projected, or planetographic lon/lat on the ellipsoid, never
relabelled), NaN for nodata, ``attrs["units"] == "m"`` and a ``name``.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree
from xml.sax.saxutils import escape as xml_escape

import dask.array
import numpy as np
import numpy.typing as npt
import rasterio
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from affine import Affine
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from rioxarray.exceptions import NoDataInBounds, OneDimensionalRaster, RioXarrayError

from marsgis._options import get_option
from marsgis.crs import (
    MARS_GEOGRAPHIC,
    is_mars_lonlat_sphere,
    require_mars_crs,
    validate_latlon,
)
from marsgis.data import RASTERS, data_path, raster_entry
from marsgis.exceptions import (
    BodyMismatchError,
    DataNotFoundError,
    LabelError,
    MarsGISError,
    OutOfBoundsError,
    ValidationError,
)
from marsgis.geo import lon180
from marsgis.io import pds3
from marsgis.io.bands import BandReader, read_failure

__all__ = ["dem_from_array", "open_dem"]

Chunks = bool | int | dict[str, int] | None

_PDS3_SUFFIXES = {".lbl", ".img"}


def open_dem(
    source: str | Path,
    *,
    chunks: Chunks = None,
    bbox: tuple[float, float, float, float] | None = None,
    name: str | None = None,
) -> xr.DataArray:
    """Open a Mars DEM.

    Parameters
    ----------
    source
        A shipped dataset name (``"mola"``, ``"gale-mola"``, ``"gale-1m"``), a path to a
        GeoTIFF/COG, a PDS3 ``.lbl``/``.img`` (HiRISE, HRSC DTMs, MOLA MEGDRs), a PDS4
        ``.xml`` label or an ISIS3 ``.cub`` (CTX DTMs), or an ``http(s)://`` URL of a COG.
    chunks
        ``None`` (default): GeoTIFFs open lazily with the ``chunk_size`` option, small PDS3
        and shipped grids load into memory. ``True``/int/dict: dask chunks. ``False``: load
        into memory.
    bbox
        ``(west, south, east, north)`` in planetocentric degrees °E: read only this window
        (on a planetographic grid its latitudes are converted exactly).
    name
        Name of the returned DataArray (default: the dataset name or file stem).

    Returns
    -------
    xarray.DataArray
        Elevation in metres, dims ``("y", "x")``, Mars CRS written, NaN for nodata.

    Raises
    ------
    DataNotFoundError
        Unknown dataset name or missing file (the message lists the shipped names).
    LabelError
        A PDS3 label is incomplete or disagrees with its data file.
    BodyMismatchError, MissingCRSError
        The file's CRS is not a Mars CRS, or it has none.
    DataReadError
        The file is damaged or truncated; raised when it is opened, or later when a lazy
        DEM's pixels are read (e.g. by ``dem.mean().compute()``).
    OutOfBoundsError
        ``bbox`` holds no cell of the DEM; the message gives the DEM's bounds.
    """
    src = str(source)
    if src in RASTERS:
        entry = raster_entry(src)
        path = data_path(entry.path)
        if entry.kind == "pds3":
            dem = _open_pds3(path, chunks=chunks)
        elif entry.kind == "gale-mola-bin":
            dem = _open_gale_mola(path, chunks=chunks)
        else:
            dem = _open_gdal(str(path), chunks=chunks)
        dem.attrs["source"] = entry.description
        dem.attrs["long_name"] = entry.title
        out_name = name or src
    else:
        is_url = src.startswith(("http://", "https://", "s3://", "/vsi"))
        if not is_url:
            p = Path(src).expanduser()
            if not p.exists():
                raise DataNotFoundError(
                    f"{src!r} is neither a shipped dataset {sorted(RASTERS)} nor an existing file"
                )
            src = str(p)
        if not is_url and Path(src).suffix.lower() in _PDS3_SUFFIXES:
            dem = _open_pds3(Path(src), chunks=chunks)
        else:
            dem = _open_gdal(src, chunks=chunks)
        dem.attrs.setdefault("source", src)
        out_name = name or Path(src).stem
    if bbox is not None:
        dem = clip_lonlat(dem, bbox)
    dem.name = out_name
    return dem


def dem_from_array(
    values: np.ndarray[Any, Any],
    *,
    y: np.ndarray[Any, Any],
    x: np.ndarray[Any, Any],
    crs: Any = MARS_GEOGRAPHIC,
    name: str = "elevation",
    attrs: dict[str, Any] | None = None,
) -> xr.DataArray:
    """Build a DEM DataArray from an array and pixel-centre coordinates, honouring the contract."""
    crs_obj = require_mars_crs(CRS.from_user_input(crs))
    da = xr.DataArray(
        values,
        dims=("y", "x"),
        coords={"y": np.asarray(y, dtype=np.float64), "x": np.asarray(x, dtype=np.float64)},
        name=name,
        attrs={"units": "m", **(attrs or {})},
    )
    if crs_obj.is_geographic and is_mars_lonlat_sphere(crs_obj):
        crs_obj = CRS.from_user_input(MARS_GEOGRAPHIC)
    return _finish(da, crs_obj)


def _finish(da: xr.DataArray, crs: CRS, *, transform: Affine | None = None) -> xr.DataArray:
    da = da.rio.write_crs(crs)
    da = da.rio.set_spatial_dims(x_dim="x", y_dim="y")
    if transform is not None:
        da = da.rio.write_transform(transform)
    da.attrs["units"] = "m"
    if crs.is_geographic:
        da["x"].attrs.update(units="degrees_east", long_name="longitude", standard_name="longitude")
        da["y"].attrs.update(units="degrees_north", long_name="latitude", standard_name="latitude")
    else:
        da["x"].attrs.update(units="m", long_name="easting")
        da["y"].attrs.update(units="m", long_name="northing")
    return da


def _chunk_spec(chunks: Chunks) -> dict[str, int] | None:
    if chunks is None or chunks is False:
        return None
    if chunks is True:
        size = int(get_option("chunk_size"))
        return {"y": size, "x": size}
    if isinstance(chunks, int):
        return {"y": chunks, "x": chunks}
    return dict(chunks)


def _check_target(label: dict[str, Any], where: str) -> None:
    target = label.get("TARGET_NAME")
    if target is None:
        return
    name = str(target.value if isinstance(target, pds3.Quantity) else target).strip().upper()
    if name != "MARS":
        raise BodyMismatchError(
            f"label of {where!r} says TARGET_NAME = {target!r}; marsgis works on Mars only "
            "(fix TARGET_NAME if the product is a Mars product)"
        )


#: SAMPLE_TYPEs that GDAL's PDS driver reads as little-endian (pdsdataset.cpp).
_GDAL_PDS_LSB = {
    "LSB_INTEGER",
    "LSB",
    "LSB_UNSIGNED_INTEGER",
    "LSB_SIGNED_INTEGER",
    "UNSIGNED_INTEGER",
    "VAX_REAL",
    "VAX_INTEGER",
    "PC_INTEGER",
    "PC_REAL",
}

_GDAL_TYPES = {
    "uint8": "Byte",
    "int8": "Int8",
    "uint16": "UInt16",
    "int16": "Int16",
    "uint32": "UInt32",
    "int32": "Int32",
    "uint64": "UInt64",
    "int64": "Int64",
    "float32": "Float32",
    "float64": "Float64",
}


def _raw_vrt(layout: pds3.ImageLayout) -> str:
    """A GDAL VRT (raw band) reading the pixels exactly where the checked label puts them."""
    native = layout.dtype.newbyteorder("=")
    order = "MSB" if layout.dtype.str.startswith(">") else "LSB"
    return (
        f'<VRTDataset rasterXSize="{layout.samples}" rasterYSize="{layout.lines}">'
        "<GeoTransform>0, 1, 0, 0, 0, 1</GeoTransform>"  # pixel space; the label georeferences
        f'<VRTRasterBand dataType="{_GDAL_TYPES[native.name]}" band="1" '
        'subClass="VRTRawRasterBand">'
        f'<SourceFilename relativeToVRT="0">{xml_escape(str(layout.data_path.resolve()))}'
        "</SourceFilename>"
        f"<ImageOffset>{layout.offset}</ImageOffset>"
        f"<PixelOffset>{layout.dtype.itemsize}</PixelOffset>"
        f"<LineOffset>{layout.dtype.itemsize * layout.samples}</LineOffset>"
        f"<ByteOrder>{order}</ByteOrder>"
        "</VRTRasterBand></VRTDataset>"
    )


def _pds3_source(label_file: Path, layout: pds3.ImageLayout) -> tuple[str, CRS | None]:
    """What GDAL opens for the pixels (its PDS driver where it agrees with the label), and its CRS.

    GDAL's PDS driver reads 32-bit integers as floats and ``UNSIGNED_INTEGER`` as
    little-endian; for those, and for labels it refuses, a raw VRT built from our checked
    layout reads the same bytes.
    """
    native = layout.dtype.newbyteorder("=")
    crs: CRS | None = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with rasterio.open(label_file) as ds:
                agrees = (
                    ds.driver == "PDS"
                    and ds.transform != Affine.identity()  # else every read warns
                    and ds.count == 1
                    and (ds.height, ds.width) == (layout.lines, layout.samples)
                    and np.dtype(ds.dtypes[0]) == native
                    and (
                        layout.dtype.itemsize == 1
                        or (layout.sample_type in _GDAL_PDS_LSB) == layout.dtype.str.startswith("<")
                    )
                )
                if ds.crs is not None:
                    crs = CRS.from_user_input(ds.crs.to_wkt())
    except Exception:  # GDAL refuses the label: read the bytes through a raw VRT
        agrees = False
    return (str(label_file) if agrees else _raw_vrt(layout)), crs


def _open_pds3(path: Path, *, chunks: Chunks) -> xr.DataArray:
    label, data_file = pds3.read_label(path)
    where = str(path)
    layout = pds3.image_layout(label, data_file, label_path=path)
    _check_target(label, where)
    grid = pds3.projection_grid(layout, where=where)
    source, gdal_crs = _pds3_source(pds3.label_file(path), layout)
    reader = BandReader(
        source, shape=(layout.lines, layout.samples), dtype=layout.dtype.newbyteorder("=")
    )
    spec = _chunk_spec(chunks)
    if spec:
        data: Any = dask.array.map_blocks(
            pds3.decode,
            reader.to_dask(_dask_chunks(spec, reader.shape)),
            layout,
            dtype=np.float32,
            meta=np.empty((0, 0), dtype=np.float32),
        )
    else:
        data = pds3.decode(reader.load(), layout)
    da = xr.DataArray(data, dims=("y", "x"), coords={"y": grid.y, "x": grid.x})
    da.attrs["pds_product_id"] = str(label.get("PRODUCT_ID", ""))
    if grid.geographic:
        return _finish(da, CRS.from_user_input(MARS_GEOGRAPHIC))
    if gdal_crs is None:
        raise LabelError(
            f"label of {where!r}: GDAL's PDS driver gives no CRS for the map projection "
            f"{grid.projection!r}; marsgis reads projected PDS3 grids in the projections GDAL "
            "knows (equirectangular, sinusoidal, polar stereographic, …)"
        )
    crs = require_mars_crs(gdal_crs, what=f"PDS3 product {where!r}")
    assert grid.transform is not None
    return _finish(da, crs, transform=Affine.from_gdal(*grid.transform))


def _open_gale_mola(path: Path, *, chunks: Chunks) -> xr.DataArray:
    meta = json.loads(data_path("gale-mola-128ppd-window/gale-mola.json").read_text())
    size = int(meta["size"])
    q = np.fromfile(path, dtype="<u2")
    if q.size != size * size:
        raise LabelError(f"{str(path)!r} holds {q.size} samples, its json says {size}×{size}")
    lo, hi = float(meta["elevationMin"]), float(meta["elevationMax"])
    # The source grid is integer metres; the 16-bit quantisation step (0.10 m) rounds back exactly.
    values = np.round(lo + q.reshape(size, size) * (hi - lo) / 65535.0).astype(np.float32)
    b = meta["bounds"]
    res = (b["north"] - b["south"]) / size
    lat = b["north"] - (np.arange(size) + 0.5) * res
    lon = b["west"] + (np.arange(size) + 0.5) * (b["east"] - b["west"]) / size
    da = xr.DataArray(values, dims=("y", "x"), coords={"y": lat, "x": lon})
    da = _finish(da, CRS.from_user_input(MARS_GEOGRAPHIC))
    spec = _chunk_spec(chunks)
    return da.chunk(spec) if spec else da


def _dask_chunks(spec: dict[str, int], shape: tuple[int, int]) -> tuple[int, int]:
    return (
        min(int(spec.get("y", shape[0])), shape[0]) or 1,
        min(int(spec.get("x", shape[1])), shape[1]) or 1,
    )


@dataclass(frozen=True)
class _Decode:
    """Stored values of a GDAL band to elevations: not-data values to NaN, then scaling."""

    nodata: tuple[float, ...]
    isis_floats: bool
    scale: float
    offset: float
    dtype: str

    def __call__(self, raw: npt.NDArray[Any]) -> npt.NDArray[Any]:
        out = np.array(raw, dtype=self.dtype)
        if self.isis_floats:
            mask = pds3.not_data(raw, self.nodata)
        else:
            mask = np.zeros(raw.shape, dtype=bool)
            for v in self.nodata:
                mask |= raw == v
        out[mask] = np.nan
        if self.scale != 1.0 or self.offset != 0.0:
            out = out * out.dtype.type(self.scale) + out.dtype.type(self.offset)
        return out


def _pds4_special_constants(ds: Any, dtype: np.dtype[Any]) -> tuple[float, ...]:
    """Every value of the label's ``Special_Constants`` (missing, invalid, saturated…).

    GDAL's PDS4 driver takes ``missing_constant`` as nodata; the other constants are not data
    either. Hexadecimal values (``0xFF7FFFFB``) of a float array are bit patterns.
    """
    md = ds.tags(ns="xml:PDS4") or {}
    text = next(iter(md.values()), "") if md else ""
    try:
        root = ElementTree.fromstring(text) if text else None
    except ElementTree.ParseError:
        root = None
    if root is None:
        return ()
    out: list[float] = []
    for block in root.iter():
        if not isinstance(block.tag, str) or block.tag.rsplit("}", 1)[-1] != "Special_Constants":
            continue
        for item in block:
            name = str(item.tag).rsplit("}", 1)[-1]
            if name in {"valid_minimum", "valid_maximum"} or not item.text:
                continue
            value = pds3.hex_or_number(item.text.strip(), dtype)
            if value is not None and not np.isnan(value) and value not in out:
                out.append(value)
    return tuple(out)


def _open_gdal(src: str, *, chunks: Chunks) -> xr.DataArray:
    """A DEM any GDAL driver reads: GeoTIFF/COG, ISIS3 cube (``.cub``), PDS4 (``.xml``) and more."""
    spec = _chunk_spec(True if chunks is None else chunks)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with rasterio.open(src) as ds:
                driver, count, subdatasets = ds.driver, ds.count, list(ds.subdatasets)
                shape = (ds.height, ds.width)
                dtype = np.dtype(ds.dtypes[0]) if count else np.dtype("float32")
                file_crs, transform = ds.crs, ds.transform
                nodata = ds.nodata
                scale = float(ds.scales[0]) if count else 1.0
                offset = float(ds.offsets[0]) if count else 0.0
                pds4 = _pds4_special_constants(ds, dtype) if driver == "PDS4" else ()
    except MarsGISError:
        raise
    except Exception as exc:  # rasterio raises many types; name the file and the fix
        raise read_failure(src, exc, what="open") from exc
    if count == 0 and subdatasets:
        raise ValidationError(f"{src!r} holds several subdatasets; open one of them explicitly")
    if count != 1:
        raise ValidationError(
            f"{src!r} has {count} bands; a DEM has one (select one with .isel(band=0))"
        )
    crs = require_mars_crs(
        None if file_crs is None else CRS.from_user_input(file_crs.to_wkt()),
        what=f"raster {src!r}",
    )
    if crs.is_geographic and is_mars_lonlat_sphere(crs):
        crs = CRS.from_user_input(MARS_GEOGRAPHIC)
    if transform == Affine.identity():
        raise ValidationError(
            f"{src!r} has a CRS but no geotransform, so its cells have no place on Mars; "
            "georeference it first (e.g. gdal_translate -a_ullr …)"
        )
    if transform.b != 0 or transform.d != 0:
        raise ValidationError(
            f"{src!r} has a rotated grid ({transform!r}); warp it to a north-up grid first "
            "(gdalwarp)"
        )
    special: list[float] = []
    if nodata is not None and not np.isnan(nodata):
        special.append(float(nodata))
    planetary = driver in {"ISIS3", "ISIS2", "PDS4"}
    if driver in {"ISIS3", "ISIS2"}:
        special += [v for v in pds3.ISIS_SPECIAL_INTEGERS.get(dtype.name, ()) if v not in special]
    special += [v for v in pds4 if v not in special]
    out_dtype = np.promote_types(dtype, np.float32)
    decode = _Decode(
        nodata=tuple(special),
        isis_floats=planetary,
        scale=scale if planetary else 1.0,
        offset=offset if planetary else 0.0,
        dtype=out_dtype.name,
    )
    reader = BandReader(src, shape=shape, dtype=dtype)
    if spec:
        data: Any = dask.array.map_blocks(
            decode,
            reader.to_dask(_dask_chunks(spec, shape)),
            dtype=out_dtype,
            meta=np.empty((0, 0), dtype=out_dtype),
        )
    else:
        data = decode(reader.load())
    x, _ = transform * (np.arange(shape[1]) + 0.5, np.zeros(shape[1]) + 0.5)
    _, y = transform * (np.zeros(shape[0]) + 0.5, np.arange(shape[0]) + 0.5)
    da = xr.DataArray(data, dims=("y", "x"), coords={"y": np.asarray(y), "x": np.asarray(x)})
    if not planetary:
        da.attrs.update(scale_factor=scale, add_offset=offset)
    return _finish(da, crs, transform=transform)


def _lonlat_bounds(dem: xr.DataArray) -> str:
    """The DEM's extent as ``west, south, east, north`` in °E/°N (for messages)."""
    try:
        crs = CRS.from_user_input(dem.rio.crs)
        if crs.is_geographic:
            w, s, e, n = (float(v) for v in dem.rio.bounds())
        else:
            w, s, e, n = (float(v) for v in dem.rio.transform_bounds(MARS_GEOGRAPHIC))
    except (CRSError, RioXarrayError, ValueError):  # a message helper never hides the real error
        return "unknown"
    return f"({w:.6g}, {s:.6g}, {e:.6g}, {n:.6g})"


def _outside(dem: xr.DataArray, bbox: tuple[float, ...]) -> OutOfBoundsError:
    name = dem.attrs.get("source") or dem.name or "the DEM"
    return OutOfBoundsError(
        f"bbox {tuple(bbox)!r} (west, south, east, north °E) holds no cell centre of the DEM "
        f"{name!r}, whose bounds are {_lonlat_bounds(dem)} (west, south, east, north °E); "
        "give a bbox inside them"
    )


def _ographic_latitude(lat: float, crs: CRS) -> float:
    """Planetocentric ``lat`` as the geodetic (planetographic) latitude of ``crs``'s ellipsoid."""
    ellipsoid = crs.ellipsoid
    assert ellipsoid is not None
    if abs(lat) >= 90.0:
        return lat
    ratio = (ellipsoid.semi_major_metre / ellipsoid.semi_minor_metre) ** 2
    return float(np.degrees(np.arctan(np.tan(np.radians(lat)) * ratio)))


def clip_lonlat(dem: xr.DataArray, bbox: tuple[float, float, float, float]) -> xr.DataArray:
    """Window of ``dem`` covering the lon/lat box ``(west, south, east, north)`` in °E.

    The box is in planetocentric degrees; on a planetographic grid (a lon/lat CRS on the
    Mars ellipsoid, e.g. ``IAU_2015:49901``) its latitudes are converted exactly.

    Raises
    ------
    OutOfBoundsError
        The box holds no cell of the DEM (the message gives the DEM's bounds), for every
        kind of DEM.
    """
    if len(bbox) != 4:
        raise ValidationError(f"bbox {bbox!r} must be (west, south, east, north) in degrees")
    west, south, east, north = (float(v) for v in bbox)
    _, lons = validate_latlon([south, north], [west, east])
    if south >= north:
        raise ValidationError(f"bbox {bbox!r}: south {south} must be below north {north}")
    crs = CRS.from_user_input(dem.rio.crs)
    if crs.is_geographic:
        if "west" in [a.direction.lower() for a in crs.axis_info]:
            raise ValidationError(
                f"the DEM's CRS {crs.name!r} has west-positive longitudes; reproject it to "
                f"{MARS_GEOGRAPHIC!r} before selecting a bbox"
            )
        if not is_mars_lonlat_sphere(crs) and "centric" not in " ".join(
            a.name.lower() for a in crs.axis_info
        ):
            south, north = _ographic_latitude(south, crs), _ographic_latitude(north, crs)
        xs = dem["x"].values
        lo_x = float(np.nanmin(xs)) if xs.size else 0.0
        # match the grid's longitude convention (0–360 or −180–180)
        if lo_x < 0:
            west_n, east_n = lon180(lons)
        else:
            west_n, east_n = lons
        if west_n > east_n:
            raise ValidationError(
                f"bbox {bbox!r} crosses the grid's longitude seam; split it in two windows"
            )
        ys = dem["y"].values
        ysel = slice(north, south) if ys.size < 2 or ys[0] > ys[-1] else slice(south, north)
        out = dem.sel(x=slice(west_n, east_n), y=ysel)
        if out.sizes["x"] == 0 or out.sizes["y"] == 0:
            raise _outside(dem, bbox)
        return out
    tr = Transformer.from_crs(CRS.from_user_input(MARS_GEOGRAPHIC), crs, always_xy=True)
    gx = np.linspace(west, east, 21)
    gy = np.linspace(south, north, 21)
    mx, my = np.meshgrid(gx, gy)
    px, py = tr.transform(mx, my)
    px, py = np.asarray(px), np.asarray(py)
    ok = np.isfinite(px) & np.isfinite(py)
    if not ok.any():
        raise _outside(dem, bbox)
    minx, maxx = float(np.min(px[ok])), float(np.max(px[ok]))
    miny, maxy = float(np.min(py[ok])), float(np.max(py[ok]))
    left, bottom, right, top = (float(v) for v in dem.rio.bounds())
    if maxx < left or minx > right or maxy < bottom or miny > top:
        raise _outside(dem, bbox)
    try:
        out = dem.rio.clip_box(minx=minx, miny=miny, maxx=maxx, maxy=maxy)
    except (NoDataInBounds, OneDimensionalRaster) as exc:
        raise _outside(dem, bbox) from exc
    if out.sizes["x"] == 0 or out.sizes["y"] == 0:
        raise _outside(dem, bbox)
    return out
