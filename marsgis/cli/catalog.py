"""``marsgis catalog``: the shipped STAC catalog, remote STAC search, the download cache."""

from __future__ import annotations

from typing import Any

import click
import pystac

from marsgis.cli._common import emit, handle_errors, json_option

__all__ = ["command", "item_summary"]


def item_summary(item: pystac.Item) -> dict[str, Any]:
    """The fields of an Item the CLI prints: id, collection, bbox, time, assets."""
    props = item.properties
    return {
        "id": item.id,
        "collection": item.collection_id,
        "title": props.get("title"),
        "bbox": list(item.bbox) if item.bbox is not None else None,
        "datetime": item.datetime.isoformat() if item.datetime is not None else None,
        "start_datetime": props.get("start_datetime"),
        "end_datetime": props.get("end_datetime"),
        "assets": {key: asset.href for key, asset in item.assets.items()},
    }


def _bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if text is None:
        return None
    from marsgis.geo.bbox import parse_bbox

    return parse_bbox(text, what="--bbox")


def _items_text(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no items"
    lines = []
    for r in rows:
        when = r["datetime"] or f"{r['start_datetime']}/{r['end_datetime']}"
        bbox = ", ".join(f"{v:.6g}" for v in r["bbox"]) if r["bbox"] else "-"
        lines.append(f"{r['id']}  [{r['collection']}]  bbox=({bbox})  {when}")
        for key, href in r["assets"].items():
            lines.append(f"    {key}: {href}")
    return "\n".join(lines)


@click.group(name="catalog")
def command() -> None:
    """Browse the shipped STAC catalog, search a STAC API and manage the download cache."""


@command.command(name="list")
@json_option
@handle_errors
def list_cmd(as_json: bool) -> None:
    """List the shipped datasets as STAC Items."""
    from marsgis.catalog import shipped_catalog

    rows = [item_summary(i) for i in shipped_catalog().get_items(recursive=True)]
    emit(rows, as_json, _items_text)


@command.command(name="collections")
@click.option("--url", default=None, help="STAC API root (default: MARSGIS_STAC_URL).")
@json_option
@handle_errors
def collections_cmd(url: str | None, as_json: bool) -> None:
    """List the collections of a STAC API."""
    from marsgis.catalog import collections

    rows = [{"id": c.id, "title": c.title} for c in collections(url=url)]
    emit(rows, as_json, lambda rs: "\n".join(f"{r['id']}  {r['title'] or ''}" for r in rs))


@command.command(name="search")
@click.option("--bbox", default=None, help="W,S,E,N in planetocentric degrees °E.")
@click.option("--collection", "collection", multiple=True, help="Collection id (repeatable).")
@click.option("--datetime", "when", default=None, help="A datetime or interval a/b (RFC 3339).")
@click.option("--max-items", default=100, show_default=True, type=int, help="Stop after N items.")
@click.option("--url", default=None, help="STAC API root (default: MARSGIS_STAC_URL).")
@json_option
@handle_errors
def search_cmd(
    *,
    bbox: str | None,
    collection: tuple[str, ...],
    when: str | None,
    max_items: int,
    url: str | None,
    as_json: bool,
) -> None:
    """Search a STAC API (default: the USGS Astrogeology STAC API) for Items."""
    from marsgis.catalog import search

    found = search(
        bbox=_bbox(bbox),
        collections=list(collection) or None,
        datetime=when,
        max_items=max_items,
        url=url,
    )
    emit([item_summary(i) for i in found], as_json, _items_text)


@command.command(name="fetch")
@click.argument("href")
@click.option("--asset", default=None, help="Asset key of the Item (default: 'data').")
@click.option("--refresh", is_flag=True, help="Download again even if a fresh copy is cached.")
@click.option(
    "--db", default=None, help="Database URL of the cache index (default: MARSGIS_DATABASE_URL)."
)
@json_option
@handle_errors
def fetch_cmd(href: str, asset: str | None, refresh: bool, db: str | None, as_json: bool) -> None:
    """Download HREF (an Item URL or an asset href) into the cache and print its path."""
    from marsgis.catalog import fetch
    from marsgis.data import sha256_file

    path = fetch(href, asset=asset, db=db, refresh=refresh)
    result = {"path": str(path), "sha256": sha256_file(path), "size": path.stat().st_size}
    emit(result, as_json, lambda r: str(r["path"]))


@command.command(name="cache")
@click.option("--bbox", default=None, help="Only entries intersecting W,S,E,N (°E).")
@click.option("--data-type", default=None, help="Only this data type (dem, image, vector, ...).")
@click.option("--clear-expired", is_flag=True, help="First delete expired entries and files.")
@click.option(
    "--db", default=None, help="Database URL of the cache index (default: MARSGIS_DATABASE_URL)."
)
@json_option
@handle_errors
def cache_cmd(
    bbox: str | None, data_type: str | None, clear_expired: bool, db: str | None, as_json: bool
) -> None:
    """List the download cache index."""
    from marsgis import catalog

    removed = catalog.clear_expired(db=db) if clear_expired else []
    rows = [a.to_dict() for a in catalog.cached_assets(_bbox(bbox), data_type=data_type, db=db)]
    if as_json:
        emit({"removed": removed, "assets": rows}, True)
        return
    lines = [f"removed {h}" for h in removed]
    lines += [f"{r['data_type']:<8} {r['expires_at']}  {r['path']}  <- {r['href']}" for r in rows]
    click.echo("\n".join(lines) if lines else "cache is empty")
