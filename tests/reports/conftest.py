"""Report tests: isolated data/reports dirs, a tiny report notebook, a planned Gale mission."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

TINY_SOURCE = """\
import time

time.sleep(sleep_s)
if fail:
    raise ValueError(f"boom: {label}")
print(f"tiny report {label} done")
"""


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARSGIS_DATA_DIR", str(tmp_path / "user-data"))
    monkeypatch.setenv("MARSGIS_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.delenv("MARSGIS_DATABASE_URL", raising=False)


@pytest.fixture(scope="session")
def tiny_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A report notebook that sleeps ``sleep_s``, then prints or (``fail``) raises."""
    path = tmp_path_factory.mktemp("notebooks") / "tiny.ipynb"
    nb = new_notebook(
        cells=[
            new_markdown_cell("# Tiny report"),
            new_code_cell(
                'label = "tiny"\nsleep_s = 0.0\nfail = False', metadata={"tags": ["parameters"]}
            ),
            new_code_cell(TINY_SOURCE),
        ],
        metadata={
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "marsgis": {"report": {"required": ["label"]}},
        },
    )
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="session")
def gale_plan() -> Any:
    """A mission plan at Bradbury Landing: MSL ellipse, a drive to the sol-746 stop, risk."""
    import marsgis
    from marsgis import planning

    return planning.plan_mission(
        "Report test: Gale landing",
        lat=-4.5895,
        lon=137.4417,
        dem=marsgis.open_dem("gale-mola"),
        constraints="msl",
        when="2012-08-06T05:17:57Z",
        waypoints=[(-4.6595, 137.3775)],
        description="Planned by the report tests.",
        objectives=["land", "drive"],
    )
