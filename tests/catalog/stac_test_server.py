"""A real STAC API on 127.0.0.1 (http.server in a thread) whose Items describe the shipped files.

The Items are built here from the files themselves (rasterio, pyproj, hashlib), independently
of ``marsgis.catalog``: lon/lat bboxes, sha256 ``file:checksum`` multihashes, asset hrefs served
by the same server. The server counts every request it answers, so tests can prove that a
cached fetch makes none.
"""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import rasterio
from pyproj import CRS, Transformer

from marsgis.data import DATA_DIR

MISSION_DEM = DATA_DIR / "mmgis-gale-test-mission" / "missionDEM.tif"
GALE_MOLA_BIN = DATA_DIR / "gale-mola-128ppd-window" / "gale-mola.bin"
GALE_MOLA_JSON = DATA_DIR / "gale-mola-128ppd-window" / "gale-mola.json"
MOLA_IMG = DATA_DIR / "mola-megdr-4ppd" / "megt90n000cb.img"
MSL_TRAVERSE = DATA_DIR / "rover-traverses-mmgis" / "MSL_traverse.json"
MARS_LONLAT = "IAU_2015:49900"

CONFORMANCE = [
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/collections",
    "https://api.stacspec.org/v1.0.0/item-search",
    "https://api.stacspec.org/v1.0.0/ogcapi-features",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
]
SSYS = "https://stac-extensions.github.io/ssys/v1.1.0/schema.json"
FILE_EXT = "https://stac-extensions.github.io/file/v2.1.0/schema.json"
PAGE_SIZE = 2  # small, so every multi-item answer needs the `next` link


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def lonlat_bbox_of_raster(path: Path) -> list[float]:
    """Corners of a raster transformed to Mars lon/lat with pyproj (eqc: corners suffice)."""
    with rasterio.open(path) as ds:
        left, bottom, right, top = ds.bounds
        crs = CRS.from_wkt(ds.crs.to_wkt())
    tr = Transformer.from_crs(crs, CRS.from_user_input(MARS_LONLAT), always_xy=True)
    lons, lats = tr.transform([left, right, right, left], [bottom, bottom, top, top])
    return [min(lons), min(lats), max(lons), max(lats)]


def box_geometry(b: list[float]) -> dict[str, Any]:
    w, s, e, n = b
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-answer (a cancelled download) is not a server error."""
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)


class StacServer:
    """The served collections/items/files and a log of the requests answered."""

    def __init__(self) -> None:
        self.collections: dict[str, dict[str, Any]] = {}
        self.items: dict[str, list[dict[str, Any]]] = {}
        self.files: dict[str, bytes] = {}
        self.log: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self.httpd = _QuietServer(("127.0.0.1", 0), _handler(self))
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # ------------------------------------------------------------------ content
    def add_file(self, name: str, data: bytes) -> str:
        self.files[f"/files/{name}"] = data
        return f"{self.base}/files/{name}"

    def add_collection(self, cid: str, title: str) -> None:
        self.collections[cid] = {"id": cid, "title": title}
        self.items[cid] = []

    def add_item(
        self,
        cid: str,
        iid: str,
        *,
        bbox: list[float],
        datetime: str,
        assets: dict[str, dict[str, Any]],
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        item = {
            "type": "Feature",
            "stac_version": "1.0.0",
            "stac_extensions": [SSYS, FILE_EXT],
            "id": iid,
            "collection": cid,
            "bbox": bbox,
            "geometry": box_geometry(bbox),
            "properties": {"datetime": datetime, "ssys:targets": ["Mars"], **(extra or {})},
            "assets": assets,
            "links": [
                {
                    "rel": "self",
                    "href": f"{self.base}/collections/{cid}/items/{iid}",
                    "type": "application/geo+json",
                },
                {
                    "rel": "parent",
                    "href": f"{self.base}/collections/{cid}",
                    "type": "application/json",
                },
                {
                    "rel": "collection",
                    "href": f"{self.base}/collections/{cid}",
                    "type": "application/json",
                },
                {"rel": "root", "href": f"{self.base}/", "type": "application/json"},
            ],
        }
        self.items[cid].append(item)
        return item

    def all_items(self) -> list[dict[str, Any]]:
        return [i for items in self.items.values() for i in items]

    # ------------------------------------------------------------------ documents
    def landing(self) -> dict[str, Any]:
        b = self.base
        links = [
            {"rel": "self", "href": f"{b}/", "type": "application/json"},
            {"rel": "root", "href": f"{b}/", "type": "application/json"},
            {"rel": "conformance", "href": f"{b}/conformance", "type": "application/json"},
            {"rel": "data", "href": f"{b}/collections", "type": "application/json"},
            {
                "rel": "search",
                "href": f"{b}/search",
                "type": "application/geo+json",
                "method": "GET",
            },
            {
                "rel": "search",
                "href": f"{b}/search",
                "type": "application/geo+json",
                "method": "POST",
            },
        ]
        links += [
            {"rel": "child", "href": f"{b}/collections/{c}", "type": "application/json"}
            for c in self.collections
        ]
        return {
            "type": "Catalog",
            "stac_version": "1.0.0",
            "id": "marsgis-test-stac",
            "title": "Local Mars STAC API (tests)",
            "description": "Items describing files shipped with marsgis",
            "conformsTo": CONFORMANCE,
            "links": links,
        }

    def collection(self, cid: str) -> dict[str, Any]:
        b = self.base
        items = self.items[cid]
        bboxes = [i["bbox"] for i in items]
        union = [
            min(x[0] for x in bboxes),
            min(x[1] for x in bboxes),
            max(x[2] for x in bboxes),
            max(x[3] for x in bboxes),
        ]
        return {
            "type": "Collection",
            "stac_version": "1.0.0",
            "stac_extensions": [SSYS],
            "id": cid,
            "title": self.collections[cid]["title"],
            "description": self.collections[cid]["title"],
            "license": "other",
            "ssys:targets": ["Mars"],
            "extent": {
                "spatial": {"bbox": [union]},
                "temporal": {"interval": [[None, None]]},
            },
            "links": [
                {"rel": "self", "href": f"{b}/collections/{cid}", "type": "application/json"},
                {"rel": "root", "href": f"{b}/", "type": "application/json"},
                {"rel": "parent", "href": f"{b}/", "type": "application/json"},
                {
                    "rel": "items",
                    "href": f"{b}/collections/{cid}/items",
                    "type": "application/geo+json",
                },
            ],
        }

    def page(
        self,
        items: list[dict[str, Any]],
        *,
        offset: int,
        limit: int,
        next_link: dict[str, Any] | None,
        self_href: str,
    ) -> dict[str, Any]:
        chunk = items[offset : offset + limit]
        links = [
            {"rel": "self", "href": self_href, "type": "application/geo+json"},
            {"rel": "root", "href": f"{self.base}/", "type": "application/json"},
        ]
        if offset + limit < len(items) and next_link is not None:
            links.append(next_link)
        return {
            "type": "FeatureCollection",
            "features": chunk,
            "numberMatched": len(items),
            "numberReturned": len(chunk),
            "links": links,
        }

    def search(self, params: dict[str, Any], method: str) -> dict[str, Any]:
        bbox = params.get("bbox")
        colls = params.get("collections")
        limit = int(params.get("limit") or PAGE_SIZE)
        offset = int(params.get("token") or 0)
        hits = []
        for item in self.all_items():
            if colls and item["collection"] not in colls:
                continue
            if bbox is not None:
                w, s, e, n = bbox
                iw, is_, ie, in_ = item["bbox"]
                if iw > e or ie < w or is_ > n or in_ < s:
                    continue
            hits.append(item)
        nxt: dict[str, Any]
        if method == "GET":
            query = {
                k: (",".join(map(str, v)) if isinstance(v, list) else v) for k, v in params.items()
            }
            query["token"] = str(offset + limit)
            nxt = {
                "rel": "next",
                "href": f"{self.base}/search?{urlencode(query)}",
                "type": "application/geo+json",
                "method": "GET",
            }
        else:
            body = {**params, "token": str(offset + limit)}
            nxt = {
                "rel": "next",
                "href": f"{self.base}/search",
                "type": "application/geo+json",
                "method": "POST",
                "body": body,
            }
        return self.page(
            hits, offset=offset, limit=limit, next_link=nxt, self_href=f"{self.base}/search"
        )

    # ------------------------------------------------------------------ bookkeeping
    def record(self, method: str, path: str) -> None:
        with self._lock:
            self.log.append((method, path))

    def count(self, prefix: str = "") -> int:
        with self._lock:
            return sum(1 for _, p in self.log if p.startswith(prefix))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)


def _handler(server: StacServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _send(self, status: int, body: bytes, ctype: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _json(self, doc: Any, status: int = 200, ctype: str = "application/json") -> None:
            self._send(status, json.dumps(doc).encode(), ctype)

        def _route(self, method: str, params: dict[str, Any]) -> None:
            url = urlparse(self.path)
            path = url.path
            server.record(method, path)
            parts = [p for p in path.split("/") if p]
            if parts[:1] == ["broken-500"]:
                self._send(500, b"Internal Server Error: database down", "text/plain")
                return
            if parts[:1] == ["broken-json"]:
                self._send(200, b'{"type": "Catalog", "links": [', "application/json")
                return
            if path in server.files:
                ctype = {".json": "application/json", ".geojson": "application/geo+json"}.get(
                    Path(path).suffix, "application/octet-stream"
                )
                self._send(200, server.files[path], ctype)
                return
            if path in ("", "/"):
                self._json(server.landing())
            elif parts == ["conformance"]:
                self._json({"conformsTo": CONFORMANCE})
            elif parts == ["collections"]:
                self._json(
                    {
                        "collections": [server.collection(c) for c in server.collections],
                        "links": [
                            {
                                "rel": "self",
                                "href": f"{server.base}/collections",
                                "type": "application/json",
                            },
                            {"rel": "root", "href": f"{server.base}/", "type": "application/json"},
                        ],
                    }
                )
            elif len(parts) == 2 and parts[0] == "collections" and parts[1] in server.collections:
                self._json(server.collection(parts[1]))
            elif (
                len(parts) == 3
                and parts[0] == "collections"
                and parts[2] == "items"
                and parts[1] in server.collections
            ):
                cid = parts[1]
                limit = int(params.get("limit") or PAGE_SIZE)
                offset = int(params.get("token") or 0)
                nxt = {
                    "rel": "next",
                    "href": f"{server.base}/collections/{cid}/items?{urlencode({'limit': limit, 'token': offset + limit})}",
                    "type": "application/geo+json",
                }
                self._json(
                    server.page(
                        server.items[cid],
                        offset=offset,
                        limit=limit,
                        next_link=nxt,
                        self_href=f"{server.base}{path}",
                    ),
                    ctype="application/geo+json",
                )
            elif len(parts) == 4 and parts[0] == "collections" and parts[2] == "items":
                found = [i for i in server.items.get(parts[1], []) if i["id"] == parts[3]]
                if found:
                    self._json(found[0], ctype="application/geo+json")
                else:
                    self._json({"code": "NotFound", "description": path}, status=404)
            elif parts == ["search"]:
                self._json(server.search(params, method), ctype="application/geo+json")
            else:
                self._json({"code": "NotFound", "description": path}, status=404)

        def do_GET(self) -> None:
            raw = parse_qs(urlparse(self.path).query)
            params: dict[str, Any] = {k: v[0] for k, v in raw.items()}
            if "bbox" in params:
                params["bbox"] = [float(v) for v in params["bbox"].split(",")]
            if "collections" in params:
                params["collections"] = params["collections"].split(",")
            self._route("GET", params)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            self._route("POST", body)

    return Handler
