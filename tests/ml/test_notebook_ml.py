"""notebooks/terrain-classifier.ipynb: committed clean, a tagged parameters cell, and it runs."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "terrain-classifier.ipynb"
SMALL = {"epochs": 1, "size": 32, "widths": [8, 16], "tile": 96}


def test_committed_clean_with_parameters_cell() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    assert set(SMALL) <= {
        line.split("=")[0].strip() for line in tagged[0].source.splitlines() if "=" in line
    }
    for c in code:  # public API only, no library code in the notebook
        assert "marsgis._" not in c.source and "ml._" not in c.source
        assert "\ndef " not in "\n" + c.source and "\nclass " not in "\n" + c.source


@pytest.mark.slow  # ~25 s: trains a model in the notebook (make test-slow)
def test_notebook_runs_with_small_parameters(tmp_path: Path) -> None:
    import papermill

    out = tmp_path / NOTEBOOK.name
    papermill.execute_notebook(
        str(NOTEBOOK),
        str(out),
        parameters=SMALL,
        kernel_name="python3",
        cwd=str(tmp_path),
        progress_bar=False,
    )
    done = nbformat.read(out, as_version=4)
    errors = [
        o for c in done.cells for o in c.get("outputs", []) if o.get("output_type") == "error"
    ]
    assert errors == []
    text = "\n".join(
        str(o.get("text", ""))
        + str(o.get("data", {}).get("text/plain", ""))
        + str(o.get("data", {}).get("text/markdown", ""))
        for c in done.cells
        for o in c.get("outputs", [])
    )
    assert "98 training and 31 validation observations; shared: 0" in text
    assert "best epoch 1 of 1" in text
    assert "shipped terrain-classifier v1 on 367 validation images (31 observations)" in text
    assert "| true \\ predicted | other | crater |" in text
    assert "no hazard" in text and "with hazard" in text
