"""python -m marsgis.viz.install: the offline Voila template and the server-extension config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from marsgis.exceptions import ValidationError
from marsgis.viz.install import TEMPLATE_FILES, install, main


def test_install_writes_the_template_and_enables_the_extension(tmp_path: Path) -> None:
    written = install(data_dir=tmp_path / "data", config_dir=tmp_path / "etc")
    folder = tmp_path / "data" / "voila" / "templates" / "marsgis"
    assert sorted(p.name for p in folder.iterdir()) == sorted(TEMPLATE_FILES)
    assert json.loads((folder / "conf.json").read_text()) == {"base_template": "lab"}
    index = (folder / "index.html.j2").read_text()
    assert index.startswith("{%- extends 'lab/index.html.j2' -%}")
    assert index.count('| replace(\'<link rel="stylesheet" href="https://cdn.jsdelivr.net') == 2
    assert "https://" not in (folder / "page.html").read_text()
    config = tmp_path / "etc" / "jupyter_server_config.d" / "marsgis.json"
    assert json.loads(config.read_text()) == {
        "ServerApp": {"jpserver_extensions": {"marsgis.viz": True}}
    }
    assert config in written and len(written) == 6
    # bounded page kernels for Voila, JupyterLab's news announcements off
    voila = json.loads((tmp_path / "etc" / "voila.json").read_text())
    assert voila["VoilaConfiguration"] == {
        "multi_kernel_manager_class": "marsgis.viz.kernels.CappedKernelManager"
    }
    assert voila["MappingKernelManager"]["cull_idle_timeout"] > 0
    assert voila["MappingKernelManager"]["cull_connected"] is False
    page_config = tmp_path / "etc" / "labconfig" / "page_config.json"
    assert json.loads(page_config.read_text()) == {
        "disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}
    }
    # the links removed are the ones Voila's lab template has
    import voila.paths

    lab = Path(voila.paths.collect_template_paths(["voila"], "lab", prune=True)[0])
    assert lab.name == "lab"
    original = (lab / "index.html.j2").read_text()
    cdn = [line.strip() for line in original.splitlines() if "cdn.jsdelivr.net" in line]
    assert len(cdn) == 2
    assert all(line in index for line in cdn)
    # idempotent
    before = {p: p.stat().st_mtime_ns for p in written}
    install(data_dir=tmp_path / "data", config_dir=tmp_path / "etc")
    assert {p: p.stat().st_mtime_ns for p in written} == before


def test_install_without_the_server_extension(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    written = install(data_dir=tmp_path / "d", config_dir=tmp_path / "c", server_extension=False)
    assert len(written) == 5 and not (tmp_path / "c" / "jupyter_server_config.d").exists()
    with pytest.raises(ValidationError, match="not both"):
        install(user=True, data_dir=tmp_path)


def test_main_installs_into_sys_prefix_by_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    monkeypatch.setattr(sys, "prefix", str(tmp_path))
    assert main(["--no-server-extension"]) == 0
    out = capsys.readouterr().out.split()
    assert out == [
        *(
            str(tmp_path / "share" / "jupyter" / "voila" / "templates" / "marsgis" / n)
            for n in TEMPLATE_FILES
        ),
        str(tmp_path / "etc" / "jupyter" / "voila.json"),
        str(tmp_path / "etc" / "jupyter" / "labconfig" / "page_config.json"),
    ]


def test_install_keeps_other_settings_in_shared_files(tmp_path: Path) -> None:
    page_config = tmp_path / "etc" / "labconfig" / "page_config.json"
    page_config.parent.mkdir(parents=True)
    page_config.write_text(json.dumps({"disabledExtensions": {"other:plugin": True}, "x": 1}))
    install(data_dir=tmp_path / "data", config_dir=tmp_path / "etc", server_extension=False)
    assert json.loads(page_config.read_text()) == {
        "disabledExtensions": {
            "other:plugin": True,
            "@jupyterlab/apputils-extension:announcements": True,
        },
        "x": 1,
    }
    page_config.write_text("{not json")
    with pytest.raises(ValidationError, match="page_config.json is not JSON"):
        install(data_dir=tmp_path / "data", config_dir=tmp_path / "etc", server_extension=False)
