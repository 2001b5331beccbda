"""Which notebooks are reports, and which parameters each one takes.

A report is a Jupyter notebook with a cell tagged ``parameters`` (papermill's convention).
The shipped reports are package data in ``marsgis/reports/notebooks/`` (so a wheel install
finds them as well as a source checkout) and are named by their file stem (``mission-plan``
is ``marsgis/reports/notebooks/mission-plan.ipynb``); any other notebook can be run as a
report by giving its path.

A report may list the parameters it cannot run without in its notebook metadata::

    {"marsgis": {"report": {"required": ["mission_id"]}}}

:func:`check_parameters` refuses a run that lacks one of them, or that names a parameter the
notebook does not declare, before anything is recorded or executed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from marsgis.exceptions import DataNotFoundError, ValidationError

__all__ = [
    "REPORTS_SOURCE_DIR",
    "ReportInfo",
    "check_parameters",
    "list_reports",
    "parse_parameter",
    "report_info",
    "report_key",
    "report_notebook",
]

#: Where the shipped report notebooks live (package data, next to this module).
REPORTS_SOURCE_DIR = Path(__file__).resolve().parent / "notebooks"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class ReportInfo:
    """A report notebook and its parameters.

    Attributes
    ----------
    name
        The report name (the file stem for shipped reports).
    path
        The notebook.
    parameters
        Parameter name → ``{"default": source text, "type": inferred type, "help": comment}``
        (papermill's ``inspect_notebook``).
    required
        Parameters a run must give (notebook metadata ``marsgis.report.required``).
    """

    name: str
    path: Path
    parameters: dict[str, dict[str, str]]
    required: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "name": self.name,
            "path": str(self.path),
            "parameters": {k: dict(v) for k, v in self.parameters.items()},
            "required": list(self.required),
        }


def _available() -> list[str]:
    if not REPORTS_SOURCE_DIR.is_dir():
        return []
    return sorted(p.stem for p in REPORTS_SOURCE_DIR.glob("*.ipynb"))


def report_notebook(report: str | Path) -> Path:
    """The notebook of a report: a shipped report's name, or the path of an ``.ipynb`` file.

    Raises
    ------
    DataNotFoundError
        No such report or file (the message lists the shipped reports).
    ValidationError
        ``report`` is neither a name nor a notebook path.
    """
    text = str(report).strip()
    if not text:
        raise ValidationError(
            f"report {report!r} is empty; give a report name ({', '.join(_available())}) or "
            "the path of a notebook"
        )
    if text.endswith(".ipynb") or "/" in text or "\\" in text:
        path = Path(text).expanduser().resolve()
        if not path.is_file():
            raise DataNotFoundError(
                f"report notebook {text!r} does not exist; give the path of an .ipynb file or "
                f"a shipped report name ({', '.join(_available()) or 'none found'})"
            )
        return path
    if not _NAME.match(text):
        raise ValidationError(
            f"report name {text!r} is not a name; use letters, digits, '-', '_' or '.' "
            f"(shipped reports: {', '.join(_available()) or 'none found'})"
        )
    path = REPORTS_SOURCE_DIR / f"{text}.ipynb"
    if not path.is_file():
        raise DataNotFoundError(
            f"no report named {text!r} in {str(REPORTS_SOURCE_DIR)!r}; shipped reports: "
            f"{', '.join(_available()) or 'none found'} (`marsgis report list`), or give the "
            "path of a notebook"
        )
    return path


def report_key(report: str | Path) -> str:
    """How runs and schedules record ``report``: its name, or the notebook's absolute path."""
    path = report_notebook(report)
    text = str(report).strip()
    return text if text == path.stem and path.parent == REPORTS_SOURCE_DIR else str(path)


def report_info(report: str | Path) -> ReportInfo:
    """The notebook of ``report`` with its declared and required parameters."""
    import nbformat
    import papermill

    path = report_notebook(report)
    try:
        nb = nbformat.read(path, as_version=4)
    except (OSError, ValueError) as exc:
        raise ValidationError(
            f"report notebook {str(path)!r} cannot be read as a notebook: {exc}; "
            "open and save it with Jupyter"
        ) from exc
    tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if not tagged:
        raise ValidationError(
            f"report notebook {str(path)!r} has no cell tagged 'parameters'; tag the cell that "
            "holds its parameters (View > Cell Toolbar > Tags in Jupyter)"
        )
    declared = papermill.inspect_notebook(str(path))
    meta = nb.metadata.get("marsgis", {}).get("report", {})
    required = tuple(str(name) for name in meta.get("required", ()))
    return ReportInfo(
        name=path.stem,
        path=path,
        parameters={str(k): {kk: str(vv) for kk, vv in v.items()} for k, v in declared.items()},
        required=required,
    )


def list_reports() -> list[ReportInfo]:
    """The shipped reports (``marsgis/reports/notebooks/*.ipynb``), by name."""
    return [report_info(name) for name in _available()]


def parse_parameter(text: str) -> Any:
    """Read a command-line parameter value: JSON when it parses, else the text itself.

    ``5``, ``true``, ``null``, ``[1, 2]`` and ``"x"`` are JSON; ``2026-01-01`` and a mission id
    stay text.
    """
    try:
        return json.loads(text)
    except ValueError:
        return text


def check_parameters(report: str | Path, parameters: Mapping[str, Any] | None) -> dict[str, Any]:
    """Validate run parameters against the report's parameters cell; return them as a dict.

    Raises
    ------
    ValidationError
        A parameter the notebook does not declare, a required one missing, or a value that
        is not JSON (runs are recorded as JSON).
    """
    info = report_info(report)
    params = dict(parameters or {})
    declared = set(info.parameters)
    unknown = sorted(set(params) - declared)
    if unknown:
        raise ValidationError(
            f"report {info.name!r} has no parameter(s) {', '.join(map(repr, unknown))}; its "
            f"parameters are {', '.join(sorted(declared)) or 'none'}"
        )
    missing = [name for name in info.required if params.get(name) is None]
    if missing:
        example = " ".join(f"-p {name} VALUE" for name in missing)
        raise ValidationError(
            f"report {info.name!r} needs parameter(s) {', '.join(map(repr, missing))}; give "
            f"them, e.g. `marsgis report run {info.name} {example}`"
        )
    try:
        json.dumps(params, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"report parameters {params!r} are not JSON values ({exc}); give strings, numbers, "
            "booleans, null, lists or dicts of them"
        ) from exc
    return params
