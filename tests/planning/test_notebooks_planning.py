"""The planning notebooks: committed without outputs, a tagged parameters cell, and they run."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
CASES = {
    "landing-site-selection.ipynb": {"top": 3},
    "traverse-planning.ipynb": {"sols": [746, 1500]},
}


@pytest.mark.parametrize("name", list(CASES))
def test_committed_clean_with_parameters_cell(name: str) -> None:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    assert "import marsgis" not in tagged[0].source
    # only public API: no private marsgis names
    for c in code:
        assert "marsgis._" not in c.source and "planning._" not in c.source


@pytest.mark.parametrize("name", list(CASES))
def test_notebook_runs(name: str, tmp_path: Path) -> None:
    import papermill  # the dev extra installs it (with ipykernel and nbformat)

    out = tmp_path / name
    papermill.execute_notebook(
        str(NOTEBOOKS / name), str(out), parameters=CASES[name], kernel_name="python3",
        cwd=str(tmp_path), progress_bar=False,
    )  # fmt: skip
    done = nbformat.read(out, as_version=4)
    errors = [
        o for c in done.cells for o in c.get("outputs", []) if o.get("output_type") == "error"
    ]
    assert errors == []
    text = "\n".join(
        str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
        for c in done.cells for o in c.get("outputs", [])
    )  # fmt: skip
    if name.startswith("landing"):
        assert "eligible on the 2 evaluated constraint(s)" in text
        assert "18.54 % of Mars" in text  # msl on MOLA: |lat| ≤ 30° and elevation < −1 km
    else:
        assert "'curiosity_odometry_m': 9207" in text
        assert "planned" in text
