"""hub/k8s/: the Kubernetes configuration validates against its shipped schemas, and says what the
single-machine hub says (groups, roles, services, GPU workers) without reaching the internet.

`helm` is not available here, so the charts' templates are not rendered; the values are
validated against hub/k8s/schemas/*.schema.json (key names as the charts define them, with the
station's stricter rules) by hub/tools/validate.py, which these tests run and also feed broken
values to, so that a schema that accepts anything would fail here.
"""

from __future__ import annotations

import copy
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "hub" / "k8s"


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


validate = _load(REPO / "hub" / "tools" / "validate.py", "marsgis_hub_validate")


@pytest.fixture(scope="module")
def jhub() -> Any:
    return yaml.safe_load((K8S / "jupyterhub-values.yaml").read_text())


@pytest.fixture(scope="module")
def gateway() -> Any:
    return yaml.safe_load((K8S / "dask-gateway-values.yaml").read_text())


@pytest.mark.parametrize("name", sorted(validate.FILES))
def test_values_validate_against_the_shipped_schemas(name: str) -> None:
    assert validate.check_file(name) == []


@pytest.mark.parametrize("name", validate.DOCKERFILES)
def test_dockerfiles_build_from_the_station_registry(name: str) -> None:
    assert validate.check_dockerfile(name) == []


def test_the_command_line_validator_passes() -> None:
    import subprocess

    done = subprocess.run(
        [sys.executable, str(REPO / "hub" / "tools" / "validate.py")],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert (done.returncode, done.stdout.strip()) == (0, "hub/k8s: OK"), done.stderr


def _broken(doc: Any, path: str, value: Any) -> Any:
    """A deep copy of ``doc`` with the key at ``a/b/c`` set to ``value``."""
    out = copy.deepcopy(doc)
    node = out
    *parents, last = path.split("/")
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    node[last] = value
    return out


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("singleuser/image/pullPolicy", "Always", "'IfNotPresent' was expected"),
        ("hub/image/name", "quay.io/jupyterhub/k8s-hub", "does not match"),
        ("singleuser/image/tag", "latest", "should not be valid"),
        (
            "singleuser/lifecycleHooks",
            {"postStart": {"exec": {"command": ["pip", "install", "x"]}}},
            "Additional properties",
        ),
        ("proxy/https/type", "letsencrypt", "is not one of"),
        ("singleuser/networkPolicy/egressAllowRules/nonPrivateIPs", True, "False was expected"),
        ("scheduling/userScheduler", {"enabled": True}, "'image' is a required property"),
        ("singleuser/extraEnv/PIP_INDEX_URL", "https://pypi.org/simple", "URL outside the cluster"),
        (
            "singleuser/profileList/1/kubespawner_override/image",
            "nvcr.io/nvidia/pytorch:24.01-py3",
            "does not match",
        ),
        ("hub/services/dashboards/url", "https://dashboards.example.org", "does not match"),
        ("hub/config/NativeAuthenticator/open_signup", True, "False was expected"),
    ],
)
def test_the_schema_refuses_what_would_break_the_station(
    jhub: Any, path: str, value: Any, message: str
) -> None:
    problems = validate.check_document("jupyterhub-values.yaml", _broken(jhub, path, value))
    assert any(message in p for p in problems), problems


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("gateway/auth/type", "simple", "'jupyterhub' was expected"),
        ("gateway/backend/image/name", "ghcr.io/dask/dask-gateway", "does not match"),
        ("traefik/image/pullPolicy", "Always", "'IfNotPresent' was expected"),
        ("gateway/prefix", "/", "'/services/dask-gateway' was expected"),
        (
            "gateway/extraConfig/00-marsgis-options",
            "c.Backend.cluster_options = (",
            "was never closed",
        ),
    ],
)
def test_the_gateway_schema_refuses_broken_values(
    gateway: Any, path: str, value: Any, message: str
) -> None:
    problems = validate.check_document("dask-gateway-values.yaml", _broken(gateway, path, value))
    assert any(message in p for p in problems), problems


def test_gpu_profile_asks_kubernetes_for_a_gpu(jhub: Any) -> None:
    profiles = {p["slug"]: p for p in jhub["singleuser"]["profileList"]}
    assert set(profiles) == {"cpu", "gpu"} and profiles["cpu"].get("default") is True
    gpu = profiles["gpu"]["kubespawner_override"]
    assert gpu["extra_resource_limits"] == {"nvidia.com/gpu": "1"}
    assert gpu["environment"]["NVIDIA_DRIVER_CAPABILITIES"] == "compute,utility"
    assert gpu["environment"]["MARSGIS_GPU"] == "1"
    assert gpu["image"].startswith(validate.REGISTRY) and "cuda" in gpu["image"]
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in gpu[
        "tolerations"
    ]


def test_gateway_gpu_workers_declare_the_gpu_resource(gateway: Any) -> None:
    """Run the chart's option code with dask-gateway-server's own Options classes."""
    namespace: dict[str, Any] = {"c": _Config()}
    exec(gateway["gateway"]["extraConfig"]["00-marsgis-options"], namespace)
    options = namespace["c"].Backend.cluster_options
    assert [f.field for f in options.fields] == ["worker_cores", "worker_memory", "worker_gpus"]
    handler = options.handler
    cpu = handler(_Values(worker_cores=2, worker_memory=4.0, worker_gpus=0), None)
    assert cpu == {
        "worker_cores": 2,
        "worker_cores_limit": 2,
        "worker_memory": "4.0G",
        "worker_memory_limit": "4.0G",
    }
    gpu = handler(_Values(worker_cores=4, worker_memory=16.0, worker_gpus=1), None)
    container = gpu["worker_extra_container_config"]
    assert container["resources"] == {"limits": {"nvidia.com/gpu": 1}}
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["NVIDIA_DRIVER_CAPABILITIES"] == "compute,utility"
    # the value dask reads for --resources GPU=1 (a literal keeps "GPU" upper-case)
    import ast

    assert ast.literal_eval(env["DASK_DISTRIBUTED__WORKER__RESOURCES"]) == {"GPU": 1}
    assert gpu["image"].startswith(validate.REGISTRY)
    limits = _Config()
    exec(gateway["gateway"]["extraConfig"]["01-marsgis-limits"], {"c": limits})
    assert limits.ClusterConfig.idle_timeout == 1800 and limits.UserLimits.max_clusters == 2


def test_kubernetes_and_single_machine_hubs_agree_on_roles(
    jhub: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(REPO / "hub"))
    monkeypatch.setenv("MARSGIS_HUB_STATE_DIR", str(tmp_path))
    import marsgis_hub

    settings = marsgis_hub.hub_settings()
    local = {r["name"]: r for r in marsgis_hub.roles_config(settings)}
    k8s = jhub["hub"]["loadRoles"]
    assert set(k8s) == set(local) - {"provisioner"}  # the station's roles too
    for name in set(k8s):
        assert sorted(k8s[name]["scopes"]) == sorted(local[name]["scopes"]), name
        assert k8s[name].get("groups") == local[name].get("groups"), name
        assert k8s[name].get("users") == local[name].get("users"), name
    # the custom scopes: generated from marsgis.api.scopes locally, written out for the chart
    assert jhub["hub"]["config"]["JupyterHub"]["custom_scopes"] == marsgis_hub.custom_scopes()
    assert sorted(jhub["hub"]["config"]["JupyterHub"]["load_groups"]) == sorted(marsgis_hub.GROUPS)
    assert jhub["hub"]["config"]["Spawner"][
        "server_token_scopes"
    ] == marsgis_hub.server_token_scopes(None)
    local_services = {s["name"]: s for s in marsgis_hub.services(settings)}
    assert (
        set(local_services)
        == set(jhub["hub"]["services"])
        == {"dask-gateway", "dashboards", "reports", "scheduler", "marsgis-api"}
    )
    api, k8s_api = local_services["marsgis-api"], jhub["hub"]["services"]["marsgis-api"]
    for key in ("oauth_no_confirm", "oauth_client_allowed_scopes", "display"):
        assert k8s_api[key] == api[key], key


def test_marsgis_scopes_in_hub_roles_are_those_of_the_api() -> None:
    """Hub role -> marsgis custom scopes is exactly marsgis.api.scopes.ROLE_SCOPES."""
    sys.path.insert(0, str(REPO / "hub"))
    try:
        import marsgis_hub
    finally:
        sys.path.remove(str(REPO / "hub"))
    from marsgis.api.scopes import ROLE_SCOPES, SCOPE_PREFIX

    values = yaml.safe_load((K8S / "jupyterhub-values.yaml").read_text())["hub"]["loadRoles"]
    for hub_role, marsgis_role in marsgis_hub.MARSGIS_ROLES.items():
        granted = {s for s in values[hub_role]["scopes"] if s.startswith(SCOPE_PREFIX)}
        assert granted == ROLE_SCOPES[marsgis_role], hub_role
        assert "access:services!service=marsgis-api" in values[hub_role]["scopes"], hub_role


def test_scheduler_is_a_hub_service_with_a_deployment() -> None:
    docs = validate.documents(K8S / "marsgis-services.yaml")
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    assert set(deployments) == {"marsgis-dashboards", "marsgis-reports", "marsgis-scheduler"}
    container = deployments["marsgis-scheduler"]["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["python", "/opt/marsgis/hub/services/scheduler.py"]
    env = {e["name"]: e for e in container["env"]}
    assert env["JUPYTERHUB_API_TOKEN"]["valueFrom"]["secretKeyRef"] == {
        "name": "hub",
        "key": "hub.services.scheduler.apiToken",
    }
    assert (REPO / "hub" / "services" / "scheduler.py").is_file()


class _Section:
    def __init__(self) -> None:
        self.__dict__["values"] = {}

    def __getattr__(self, name: str) -> Any:
        return self.__dict__["values"][name]

    def __setattr__(self, name: str, value: Any) -> None:
        self.__dict__["values"][name] = value


class _Config:
    """A stand-in for traitlets' ``c`` in config snippets: sections of attributes."""

    def __getattr__(self, name: str) -> _Section:
        section = _Section()
        object.__setattr__(self, name, section)
        return section


class _Values:
    def __init__(self, **kw: Any) -> None:
        self.__dict__.update(kw)


def test_dashboards_service_derives_role_urls_like_the_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    """On Kubernetes the dashboards pod derives its roles' URLs from the secret, then drops it."""
    from marsgis.db import roles

    env = {
        "MARSGIS_HUB_DB_SECRET": "s3cret",
        "MARSGIS_HUB_DATABASE_URL": "postgresql+psycopg2://postgis.marsgis.svc.cluster.local:5432/marsgis",
        "MARSGIS_HUB_DB_ROLE_PREFIX": "marsgis",
    }
    monkeypatch.setattr(
        os, "environ", {**os.environ, "JUPYTERHUB_SERVICE_PREFIX": "/services/dashboards/"}
    )
    dashboards = _load(REPO / "hub" / "services" / "dashboards.py", "marsgis_hub_dashboards")
    urls = dashboards.dashboard_database_urls(env)
    role = roles.service_role("dashboards_operator")
    assert urls["operator"] == roles.user_database_url(
        "postgresql+psycopg2://postgis.marsgis.svc.cluster.local:5432/marsgis",
        role,
        roles.derive_password("s3cret", role),
    )
    assert "MARSGIS_HUB_DB_SECRET" not in env and env["MARSGIS_DATABASE_URL"] == urls["viewer"]
    assert dashboards.level_of({"groups": ["viewers", "operators"]}) == "operator"
    assert dashboards.level_of({"groups": [], "admin": True}) == "scientist"
    station = roles.service_role("dashboards_spaceline_dispatcher")
    assert urls["spaceline_dispatcher"] == roles.user_database_url(
        "postgresql+psycopg2://postgis.marsgis.svc.cluster.local:5432/marsgis",
        station,
        roles.derive_password("s3cret", station),
    )


@pytest.fixture(scope="module")
def api_docs() -> dict[str, Any]:
    return {d["kind"]: d for d in validate.documents(K8S / "marsgis-api.yaml")}


def test_api_runs_as_deployment_service_and_autoscaler(api_docs: dict[str, Any], jhub: Any) -> None:
    assert set(api_docs) == {"Deployment", "Service", "HorizontalPodAutoscaler"}
    deployment, service, hpa = (
        api_docs["Deployment"],
        api_docs["Service"],
        api_docs["HorizontalPodAutoscaler"],
    )
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["command"][:2] == ["python", "/opt/marsgis/hub/services/api.py"]
    assert (REPO / "hub" / "services" / "api.py").is_file()
    port = container["ports"][0]["containerPort"]
    assert container["command"][-2:] == ["--port", str(port)]
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/api/v1/health", "port": "http"}
    env = {e["name"]: e for e in container["env"]}
    assert env["JUPYTERHUB_API_TOKEN"]["valueFrom"]["secretKeyRef"] == {
        "name": "hub",
        "key": "hub.services.marsgis-api.apiToken",
    }
    assert env["JUPYTERHUB_SERVICE_PREFIX"]["value"] == "/services/marsgis-api/"
    # the Service selects the pods and the hub's proxy routes to it
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert service["spec"]["ports"][0]["port"] == port
    assert jhub["hub"]["services"]["marsgis-api"]["url"] == (
        f"http://{service['metadata']['name']}.marsgis.svc.cluster.local:{port}"
    )
    # the autoscaler scales that Deployment, from at least its replica count
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert hpa["spec"]["minReplicas"] == deployment["spec"]["replicas"]
    assert hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]


@pytest.mark.parametrize(
    ("kind", "path", "value", "message"),
    [
        (
            "Deployment",
            "spec/template/spec/containers/0/readinessProbe/httpGet/path",
            "/",
            "'/api/v1/health' was expected",
        ),
        (
            "Deployment",
            "spec/template/spec/containers/0/livenessProbe",
            {"tcpSocket": {"port": "http"}},
            "'httpGet' is a required property",
        ),
        ("Deployment", "spec/template/spec/containers/0/resources", {}, "'requests'"),
        (
            "Deployment",
            "spec/template/spec/containers/0/image",
            "docker.io/library/python:3.11",
            "does not match",
        ),
        (
            "HorizontalPodAutoscaler",
            "apiVersion",
            "autoscaling/v1",
            "'autoscaling/v2' was expected",
        ),
        ("HorizontalPodAutoscaler", "spec/scaleTargetRef/name", "marsgis-other", "was expected"),
        ("HorizontalPodAutoscaler", "spec/minReplicas", 0, "less than the minimum"),
        ("HorizontalPodAutoscaler", "spec/targetCPUUtilizationPercentage", 70, "Additional"),
    ],
)
def test_the_api_schema_refuses_broken_manifests(
    api_docs: dict[str, Any], kind: str, path: str, value: Any, message: str
) -> None:
    problems = validate.check_document("marsgis-api.yaml", _broken(api_docs[kind], path, value))
    assert any(message in p for p in problems), problems
