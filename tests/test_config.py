"""``marsgis.config.settings``: remembered per set of values, never stale."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from marsgis import config
from marsgis.config import Rate, read_settings, settings
from marsgis.exceptions import ConfigurationError


class _Recorder(Mapping[str, str]):
    """A mapping that has every variable set and records which ones are read."""

    def __init__(self) -> None:
        self.read: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.read.add(name)
        return {"MARSGIS_API_RATE_LIMIT": "off", "MARSGIS_GATEWAY_AUTH": "basic"}.get(name, "")

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def test_the_key_names_every_variable_read() -> None:
    recorder = _Recorder()
    read_settings(recorder)
    assert recorder.read, "read_settings read no variable through the mapping"
    assert recorder.read <= set(config._VARIABLES), sorted(recorder.read - set(config._VARIABLES))


def test_settings_follow_every_change_of_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("MARSGIS_CACHE_DIR", "MARSGIS_REDIS_URL", "MARSGIS_API_RATE_LIMIT"):
        monkeypatch.delenv(name, raising=False)
    before = settings()
    assert before == read_settings(os.environ)
    monkeypatch.setenv("MARSGIS_CACHE_DIR", str(tmp_path / "a"))
    monkeypatch.setenv("MARSGIS_API_RATE_LIMIT", "5/second")
    changed = settings()
    assert changed.cache_dir == tmp_path / "a"
    assert changed.api_rate_limit == Rate(requests=5, period_s=1.0)
    assert changed == read_settings(os.environ)
    monkeypatch.setenv("MARSGIS_CACHE_DIR", str(tmp_path / "b"))
    assert settings().cache_dir == tmp_path / "b"
    monkeypatch.delenv("MARSGIS_CACHE_DIR")
    monkeypatch.delenv("MARSGIS_API_RATE_LIMIT")
    assert settings() == before
    # the default folders follow platformdirs' own variables
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert settings().cache_dir == tmp_path / "xdg" / "marsgis"
    # an explicit mapping is read, not the process environment
    assert settings({"MARSGIS_CACHE_DIR": "/srv/c"}).cache_dir == Path("/srv/c")


def test_a_bad_value_is_refused_on_every_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARSGIS_GPU", "maybe")
    for _ in range(2):  # errors are not remembered as settings
        with pytest.raises(ConfigurationError, match="MARSGIS_GPU='maybe'"):
            settings()
