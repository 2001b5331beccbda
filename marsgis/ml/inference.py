"""Sliding-window classification of large rasters: class and confidence on the source grid.

:func:`classify_raster` cuts an image into overlapping square tiles (``tile`` pixels, every
``stride`` pixels, the last row and column of tiles flush with the far edges), classifies
them in batches with a :class:`~marsgis.ml.Classifier`, and gives every pixel the mean of
the class probabilities of the tiles that cover it. The class raster is the arg-max of that
mean and the confidence its maximum.

Numpy-backed images are processed in memory. Dask-backed ones are processed chunk by chunk
with :func:`dask.array.map_overlap` (halo ``tile - 1``, so every tile covering a chunk is
whole inside the chunk's window): the result equals the in-memory one, and only tiles
touching a chunk are evaluated for it (tiles straddling chunk edges are evaluated once per
chunk they touch, a ``~2·tile/chunk`` overhead).

Devices: the classifier runs where it lives (:func:`marsgis.ml.load` puts it on CUDA when
PyTorch sees a GPU, else on the CPU). ``device=`` runs a *copy* of it on that device
(:meth:`~marsgis.ml.Classifier.copy_to`): the caller's classifier is never moved. On CUDA the
forward passes run in IEEE float32, not TF32 (:func:`marsgis.ml.classifier.ieee_float32`),
so the classes and probabilities equal the CPU's within float32 rounding.

GPU workers: when a dask.distributed client is active and one of its workers declares a
``GPU`` resource (a dask-gateway GPU worker, or a GPU LocalCluster from
:func:`marsgis.compute.client`), the classification tasks are annotated with
``resources={"GPU": 1}`` and *submitted at once* (``client.persist(..., optimize_graph=False)``):
dask's default graph optimisation turns the graph into plain tasks and drops every annotation,
so an annotation left for a later ``.compute()`` would let classification land on CPU-only
workers. The returned Dataset is still dask-backed; its classification chunks are computed
on the GPU workers (and kept in the cluster's memory until released). Each worker's copy of
the classifier is unpickled onto that worker's own device (CUDA when it has one) unless
``device=`` names one.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import rioxarray  # noqa: F401  (registers .rio)
import xarray as xr

from marsgis.exceptions import ValidationError
from marsgis.ml._torch import torch
from marsgis.ml.classifier import Classifier

__all__ = ["classify_raster", "gpu_workers_available", "tile_starts"]

FloatArray = npt.NDArray[np.float32]


def tile_starts(n: int, tile: int, stride: int) -> npt.NDArray[np.int64]:
    """Start offsets of tiles along an axis of ``n`` pixels (the last one flush with the end).

    Examples
    --------
    >>> tile_starts(10, 4, 3).tolist()
    [0, 3, 6]
    >>> tile_starts(11, 4, 3).tolist()
    [0, 3, 6, 7]
    """
    if n <= tile:
        return np.zeros(1, dtype=np.int64)
    starts = np.arange(0, n - tile + 1, stride, dtype=np.int64)
    if starts[-1] != n - tile:
        starts = np.append(starts, n - tile)
    return starts


def gpu_workers_available() -> bool:
    """Whether a dask.distributed client is active and one of its workers has a ``GPU`` resource."""
    client = _distributed_client()
    if client is None:
        return False
    workers = client.scheduler_info().get("workers", {})
    return any("GPU" in (w.get("resources") or {}) for w in workers.values())


def classify_raster(
    image: xr.DataArray | npt.NDArray[Any],
    model: Classifier | str = "terrain-classifier",
    *,
    tile: int | None = None,
    stride: int | None = None,
    batch_size: int = 64,
    value_range: tuple[float, float] | None = None,
    probabilities: bool = False,
    device: str | None = None,
    gpu_resources: bool | None = None,
) -> xr.Dataset:
    """Classify a greyscale raster with overlapping tiles.

    Parameters
    ----------
    image
        2-D DataArray (e.g. a HiRISE image or a hillshade), numpy or dask backed; NaN is
        nodata. Its coordinates, attributes of position and CRS are carried over. A 2-D
        numpy array is taken as an image with dims ``("y", "x")`` and no coordinates.
    model
        A :class:`~marsgis.ml.Classifier` or a name/path for :func:`marsgis.ml.load`.
    tile
        Tile side in image pixels (default: the classifier's ``tile_size``, 227 for the
        HiRISE crops); each tile is resized to the network's input size.
    stride
        Step between tiles (default ``tile // 2``: every interior pixel is covered by four
        tiles); ``stride == tile`` gives one tile per pixel.
    batch_size
        Tiles per forward pass.
    value_range
        ``(low, high)`` mapped to [0, 1] before the network. Default: ``(0, 255)`` for 8-bit
        images, ``(0, 65535)`` for 16-bit, ``(0, 1)`` for floats. (The shipped network
        standardises each tile, so only its global normalisation sees the range.)
    probabilities
        Also return the per-class mean probabilities (calibrated when the model has a
        calibration, see :meth:`marsgis.ml.Classifier.probabilities`) (``probability``, dims
        ``("class_name", y, x)``).
    device
        Run a copy of the classifier on this device (``"cpu"``, ``"cuda"``); the given
        classifier stays where it is.
    gpu_resources
        Annotate the dask tasks with ``resources={"GPU": 1}``; default: when a distributed
        client with GPU workers is active (:func:`gpu_workers_available`). With an active
        distributed client the annotated tasks are submitted at once, so that they keep
        their annotation (see the module docstring).

    Returns
    -------
    xarray.Dataset
        On the image's grid: ``class`` (int16 class id, −1 where nodata; names in
        ``attrs["classes"]``), ``confidence`` (float32 mean probability of that class, NaN
        where nodata) and optionally ``probability``. Lazy (dask) when the image is.

    Examples
    --------
    >>> import marsgis, marsgis.ml
    >>> shade = marsgis.terrain.hillshade(marsgis.open_dem("gale-1m"))   # doctest: +SKIP
    >>> out = marsgis.ml.classify_raster(shade, tile=227)               # doctest: +SKIP
    >>> out["class"], out["confidence"]                                 # doctest: +SKIP
    """
    from marsgis.ml.registry import load

    image = _as_image(image)
    clf = model if isinstance(model, Classifier) else load(model)
    if device is not None:
        clf = clf.copy_to(device)
    side = clf.tile_size if tile is None else int(tile)
    step = max(1, side // 2) if stride is None else int(stride)
    if side < 8:
        raise ValidationError(f"tile={tile!r} must be at least 8 pixels")
    if not 1 <= step <= side:
        raise ValidationError(f"stride={stride!r} must be between 1 and the tile size {side}")
    if batch_size < 1:
        raise ValidationError(f"batch_size={batch_size!r} must be a positive integer")
    lo, hi = _value_range(image.dtype, value_range)
    k = len(clf.classes)
    layers = k + 2 if probabilities else 2
    params = _Params(clf, side, step, batch_size, lo, hi, probabilities)

    data = image.data
    if hasattr(data, "dask"):
        stack = _dask_stack(data, params, layers, gpu_resources)
    else:
        arr = np.asarray(data)
        stack = _classify_window(
            arr,
            params,
            origin=(0, 0),
            full_shape=arr.shape,
            out_rows=(0, arr.shape[0]),
            out_cols=(0, arr.shape[1]),
        )
    return _dataset(image, stack, clf, params)


def _as_image(image: Any) -> xr.DataArray:
    """The 2-D DataArray to classify, or a ValidationError saying what is accepted."""
    if isinstance(image, np.ndarray) and image.ndim == 2:
        return xr.DataArray(image, dims=("y", "x"))
    if isinstance(image, xr.DataArray) and image.ndim == 2:
        return image
    if isinstance(image, (xr.DataArray, np.ndarray)):
        kind = (
            f"a DataArray with dims {image.dims!r}"
            if isinstance(image, xr.DataArray)
            else "a numpy array"
        )
        hint = (
            "select one band, e.g. image.isel(band=0) or array[0]"
            if image.ndim > 2
            else "give a 2-D image"
        )
        raise ValidationError(
            f"classify_raster needs a 2-D greyscale image, got {kind} of shape "
            f"{image.shape!r}; {hint}"
        )
    raise ValidationError(
        f"classify_raster needs a 2-D greyscale image (an xarray DataArray or numpy array), "
        f"got an object of type {type(image).__name__!r}"
    )


@dataclass(frozen=True)
class _Params:
    clf: Classifier
    tile: int
    stride: int
    batch_size: int
    lo: float
    hi: float
    probabilities: bool


def _value_range(
    dtype: np.dtype[Any], value_range: tuple[float, float] | None
) -> tuple[float, float]:
    if value_range is not None:
        lo, hi = (float(v) for v in value_range)
        if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
            raise ValidationError(
                f"value_range={value_range!r} must be (low, high) with high > low"
            )
        return lo, hi
    if dtype == np.uint8:
        return 0.0, 255.0
    if dtype == np.uint16:
        return 0.0, 65535.0
    if dtype.kind == "f":
        return 0.0, 1.0
    raise ValidationError(
        f"image dtype {dtype!r} has no default value range; pass value_range=(low, high)"
    )


# --------------------------------------------------------------------------- the kernel


def _classify_window(
    window: npt.NDArray[Any],
    p: _Params,
    *,
    origin: tuple[int, int],
    full_shape: tuple[int, ...],
    out_rows: tuple[int, int],
    out_cols: tuple[int, int],
) -> FloatArray:
    """Class layers ``(2 or K+2, h, w)`` of ``out_rows × out_cols`` (global pixel ranges).

    ``window`` holds the global pixels ``origin[0]:, origin[1]:`` and includes every tile
    (global tile grid of an image of ``full_shape``) that touches the output range.
    """
    ny, nx = int(full_shape[0]), int(full_shape[1])
    t = p.tile
    img = (np.asarray(window, dtype=np.float32) - np.float32(p.lo)) / np.float32(p.hi - p.lo)
    # images smaller than a tile: pad at the far edges (edge values)
    pad_y, pad_x = max(0, t - ny), max(0, t - nx)
    if pad_y or pad_x:
        img = np.pad(img, ((0, pad_y), (0, pad_x)), mode="edge")
    rows_all = tile_starts(max(ny, t), t, p.stride)
    cols_all = tile_starts(max(nx, t), t, p.stride)
    r0, r1 = out_rows
    c0, c1 = out_cols
    rows = rows_all[(rows_all < r1) & (rows_all + t > r0)]
    cols = cols_all[(cols_all < c1) & (cols_all + t > c0)]
    probs = _tile_probabilities(img, rows - origin[0], cols - origin[1], p)  # (nr, nc, K)
    k = probs.shape[-1]
    # the mean over covering tiles is constant between tile edges: accumulate on that grid
    br = np.unique(np.clip(np.concatenate([rows, rows + t, [r0, r1]]), r0, r1))
    bc = np.unique(np.clip(np.concatenate([cols, cols + t, [c0, c1]]), c0, c1))
    i0 = np.searchsorted(br, np.clip(rows, r0, r1))
    i1 = np.searchsorted(br, np.clip(rows + t, r0, r1))
    j0 = np.searchsorted(bc, np.clip(cols, c0, c1))
    j1 = np.searchsorted(bc, np.clip(cols + t, c0, c1))
    valid = np.isfinite(probs[..., 0])
    vals = np.concatenate([np.where(valid[..., None], probs, 0.0), valid[..., None]], axis=-1)
    vals = vals.astype(np.float64)
    diff = np.zeros((len(br), len(bc), k + 1))
    for ii, jj, sign in ((i0, j0, 1.0), (i1, j0, -1.0), (i0, j1, -1.0), (i1, j1, 1.0)):
        np.add.at(diff, (ii[:, None], jj[None, :]), sign * vals)
    acc = diff.cumsum(axis=0).cumsum(axis=1)[:-1, :-1]
    count = np.rint(acc[..., k])
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count[..., None] > 0, acc[..., :k] / count[..., None], np.nan)
    covered = count > 0
    cls = np.where(covered, np.argmax(np.nan_to_num(mean, nan=-1.0), axis=-1), -1)
    conf = np.where(covered, np.nanmax(np.where(covered[..., None], mean, 0.0), axis=-1), np.nan)
    layers = [cls.astype(np.float32), conf.astype(np.float32)]
    if p.probabilities:
        layers += [mean[..., i].astype(np.float32) for i in range(k)]
    compact = np.stack(layers)  # (L, cells_y, cells_x)
    out = np.repeat(np.repeat(compact, np.diff(br), axis=1), np.diff(bc), axis=2)
    # nodata pixels of the input
    core = window[r0 - origin[0] : r1 - origin[0], c0 - origin[1] : c1 - origin[1]]
    nodata = ~np.isfinite(np.asarray(core, dtype=np.float32))
    if nodata.any():
        out[0][nodata] = -1
        out[1:, nodata] = np.nan
    return out


def _tile_probabilities(
    img: FloatArray, rows: npt.NDArray[np.int64], cols: npt.NDArray[np.int64], p: _Params
) -> npt.NDArray[np.float32]:
    """Probabilities ``(len(rows), len(cols), K)`` of the tiles at local offsets (NaN: no data)."""
    t = p.tile
    k = len(p.clf.classes)
    out = np.full((len(rows), len(cols), k), np.nan, dtype=np.float32)
    positions = [(a, b) for a in range(len(rows)) for b in range(len(cols))]
    has_nan = not bool(np.isfinite(img).all())
    for batch in _chunks(positions, p.batch_size):
        tiles = np.stack([img[rows[a] : rows[a] + t, cols[b] : cols[b] + t] for a, b in batch])
        keep = np.ones(len(batch), dtype=bool)
        if has_nan:
            tiles, keep = _fill_nodata(tiles)
        if not keep.any():
            continue
        x = torch.from_numpy(tiles[keep][:, None])
        prob = p.clf.probabilities(x, batch_size=p.batch_size).numpy()
        idx = [pos for pos, kept in zip(batch, keep, strict=True) if kept]
        ia = np.array([a for a, _ in idx])
        ib = np.array([b for _, b in idx])
        out[ia, ib] = prob
    return out


def _fill_nodata(tiles: FloatArray) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """Replace NaN pixels by their tile's mean; tiles without data are dropped."""
    finite = np.isfinite(tiles)
    n = finite.sum(axis=(1, 2))
    keep = n > 0
    sums = np.where(finite, tiles, 0.0).sum(axis=(1, 2))
    means = np.divide(sums, n, out=np.zeros_like(sums), where=keep)
    filled = np.where(finite, tiles, means[:, None, None]).astype(np.float32)
    return filled, keep


def _chunks(items: list[tuple[int, int]], size: int) -> Iterator[list[tuple[int, int]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --------------------------------------------------------------------------- dask


def _dask_stack(data: Any, p: _Params, layers: int, gpu_resources: bool | None) -> Any:
    import dask.array as da
    from dask.base import annotate

    ny, nx = data.shape
    depth = p.tile - 1
    # map_overlap needs chunks at least as large as the halo
    chunks = tuple(
        c if min(c) >= depth or len(c) == 1 else _even_chunks(n, max(*c, depth))
        for c, n in zip(data.chunks, (ny, nx), strict=True)
    )
    if chunks != data.chunks:
        data = data.rechunk(chunks)
    offsets = [np.concatenate([[0], np.cumsum(c)]) for c in data.chunks]

    def classify_block(
        window: npt.NDArray[Any], block_info: dict[Any, Any] | None = None
    ) -> FloatArray:
        assert block_info is not None
        bi, bj = block_info[0]["chunk-location"]
        r0, r1 = int(offsets[0][bi]), int(offsets[0][bi + 1])
        c0, c1 = int(offsets[1][bj]), int(offsets[1][bj + 1])
        origin = (max(0, r0 - depth), max(0, c0 - depth))
        return _classify_window(
            window, p, origin=origin, full_shape=(ny, nx), out_rows=(r0, r1), out_cols=(c0, c1)
        )

    use_gpu = gpu_workers_available() if gpu_resources is None else gpu_resources
    context = annotate(resources={"GPU": 1}) if use_gpu else contextlib.nullcontext()
    with context:
        stack = da.map_overlap(
            classify_block,
            data,
            depth={0: depth, 1: depth},
            boundary="none",
            trim=False,
            new_axis=0,
            chunks=((layers,), *data.chunks),
            dtype=np.float32,
            meta=np.empty((0, 0, 0), dtype=np.float32),
            allow_rechunk=False,
        )
    client = _distributed_client() if use_gpu else None
    if client is None:
        return stack
    # Submit now, unoptimised: dask's default optimisation (low-level fusion) flattens the
    # graph and drops the annotation, so a later .compute() would ignore the GPU resource.
    return client.persist(stack, optimize_graph=False)


def _distributed_client() -> Any:
    """The active dask.distributed client, or None."""
    try:
        from distributed import get_client

        return get_client()
    except (ImportError, ValueError):
        return None


def _even_chunks(n: int, size: int) -> tuple[int, ...]:
    count = max(1, n // size)
    base, extra = divmod(n, count)
    return tuple(base + (1 if i < extra else 0) for i in range(count))


# --------------------------------------------------------------------------- result


def _dataset(image: xr.DataArray, stack: Any, clf: Classifier, p: _Params) -> xr.Dataset:
    dims = image.dims
    coords = {name: c for name, c in image.coords.items() if set(c.dims) <= set(dims)}
    classes = list(clf.classes)
    common = {
        "model": clf.name,
        "model_version": clf.version,
        "model_sha256": clf.sha256 or "",
        "tile": p.tile,
        "stride": p.stride,
    }
    cls = xr.DataArray(stack[0], dims=dims, coords=coords, name="class").astype(np.int16)
    cls.attrs = {
        "long_name": "terrain class",
        "classes": classes,
        "flag_values": list(range(len(classes))),
        "flag_meanings": " ".join(c.replace(" ", "_") for c in classes),
        "nodata": -1,
        **common,
    }
    conf = xr.DataArray(stack[1], dims=dims, coords=coords, name="confidence")
    conf.attrs = {"long_name": "mean probability of the class", "units": "1", **common}
    variables = {"class": cls, "confidence": conf}
    if p.probabilities:
        prob = xr.DataArray(
            stack[2:],
            dims=("class_name", *dims),
            coords={**coords, "class_name": classes},
            name="probability",
        )
        prob.attrs = {"long_name": "mean class probability of covering tiles", "units": "1"}
        variables["probability"] = prob
    ds = xr.Dataset(variables, attrs={"title": "terrain classification", **common})
    crs = image.rio.crs
    if crs is not None:
        ds = ds.rio.write_crs(crs)
    return ds
