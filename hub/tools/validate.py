"""Validate hub/k8s/ against its schemas and the Mars-station rule (nothing from the internet).

    python hub/tools/validate.py            # every file; exit status 1 and the reasons if any fails

Checks, per file:

* the YAML validates against its JSON schema in hub/k8s/schemas/ (draft 2020-12);
* no URL in it points outside the cluster or the machine (``localhost``, ``127.0.0.1``, a bare
  service name, ``*.svc.cluster.local``), and every image reference, also inside Python
  snippets and Dockerfiles, names the station's registry;
* every Python snippet (``extraConfig``) compiles.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

K8S = Path(__file__).resolve().parents[1] / "k8s"
SCHEMAS = K8S / "schemas"
REGISTRY = "registry.station.local:5000/"
#: values file -> schema (each YAML document is validated against it)
FILES = {
    "jupyterhub-values.yaml": "jupyterhub-values.schema.json",
    "dask-gateway-values.yaml": "dask-gateway-values.schema.json",
    "marsgis-services.yaml": "marsgis-services.schema.json",
    "marsgis-api.yaml": "marsgis-api.schema.json",
}
DOCKERFILES = ("Dockerfile", "Dockerfile.hub")

_URL = re.compile(r"\b([a-z][a-z0-9+.-]*)://([^/\s:'\"@]+@)?([^/\s:'\"]+)")
_IMAGE = re.compile(
    r"(?<![\w./-])([a-z0-9-]+(\.[a-z0-9-]+)+(:[0-9]+)?/[a-z0-9._/-]+:[A-Za-z0-9._-]+)"
)


def registry() -> Registry:
    """The shipped schemas, addressable by file name (``common.schema.json#/$defs/...``)."""
    resources = []
    for path in SCHEMAS.glob("*.schema.json"):
        resources.append((path.name, Resource.from_contents(json.loads(path.read_text()))))
    return Registry().with_resources(resources)


def documents(path: Path) -> list[Any]:
    """The YAML documents of ``path``."""
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def strings(obj: Any) -> Iterator[str]:
    """Every string in a YAML tree (keys and values)."""
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield from strings(key)
            yield from strings(value)
    elif isinstance(obj, list):
        for item in obj:
            yield from strings(item)


def local_host(host: str) -> bool:
    """Whether ``host`` is this machine or inside the cluster."""
    return (
        host in {"localhost", "127.0.0.1", "0.0.0.0"}
        or "." not in host
        or host.endswith((".svc.cluster.local", ".svc"))
    )


def foreign_references(texts: Iterator[str] | list[str]) -> list[str]:
    """URLs leaving the cluster, and images not from the station's registry."""
    found = []
    for text in texts:
        for match in _URL.finditer(text):
            if not local_host(match.group(3)):
                found.append(f"URL outside the cluster: {match.group(0)!r}")
        for match in _IMAGE.finditer(text):
            if not match.group(1).startswith(REGISTRY):
                found.append(f"image not from {REGISTRY}: {match.group(1)!r}")
    return found


def python_snippets(name: str, doc: Any) -> dict[str, str]:
    """The Python config snippets (``extraConfig``) of a values document."""
    if name == "jupyterhub-values.yaml":
        return dict(doc["hub"].get("extraConfig", {}))
    if name == "dask-gateway-values.yaml":
        return dict(doc["gateway"].get("extraConfig", {}))
    return {}


def check_document(name: str, doc: Any) -> list[str]:
    """Every problem of one YAML document of the file ``name`` (empty: it passes)."""
    schema = json.loads((SCHEMAS / FILES[name]).read_text())
    validator = Draft202012Validator(schema, registry=registry())
    problems = []
    for error in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in error.absolute_path) or "(top)"
        problems.append(f"{where}: {error.message}")
    problems += foreign_references(list(strings(doc)))
    for key, code in python_snippets(name, doc).items():
        try:
            compile(code, f"{name}:{key}", "exec")
        except SyntaxError as exc:
            problems.append(f"extraConfig {key}: {exc}")
    return problems


def check_file(name: str) -> list[str]:
    """Every problem of one file of hub/k8s/ (empty: it passes)."""
    return [
        f"{name}[{i}] {problem}"
        for i, doc in enumerate(documents(K8S / name))
        for problem in check_document(name, doc)
    ]


def check_dockerfile(name: str) -> list[str]:
    """A Dockerfile's base images come from the station registry; no URL leaves the cluster."""
    text = (K8S / name).read_text()
    problems = [f"{name}: {p}" for p in foreign_references(text.splitlines())]
    default = re.search(r"^ARG REGISTRY=(\S+)$", text, re.MULTILINE)
    if default is None or default.group(1) + "/" != REGISTRY:
        problems.append(f"{name}: no `ARG REGISTRY={REGISTRY.rstrip('/')}`")
    for line in re.findall(r"^FROM\s+(\S+)", text, re.MULTILINE):
        if not line.startswith("${REGISTRY}/"):
            problems.append(f"{name}: base image {line!r} is not from ${{REGISTRY}}")
    return problems


def main() -> int:
    problems = [p for name in FILES for p in check_file(name)]
    problems += [p for name in DOCKERFILES for p in check_dockerfile(name)]
    for problem in problems:
        print(problem, file=sys.stderr)
    print("hub/k8s: " + ("OK" if not problems else f"{len(problems)} problem(s)"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
