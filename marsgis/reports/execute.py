"""Run a report: execute its notebook with papermill, export HTML, record the run.

:func:`run_report` records the run as ``running``, executes the notebook with papermill (its
code runs in a kernel process of its own, so a crashing report ends only that kernel), writes
the executed notebook and an HTML export *without code cells* into a folder of its own, and
records the outcome::

    <reports dir>/<report>/<UTC start, YYYYmmddTHHMMSSZ>-run<id>/<report>.ipynb
                                                              /<report>.html

The reports dir is ``MARSGIS_REPORTS_DIR`` (default ``<data dir>/reports``). The notebook runs
with the folder as its working directory and with ``MARSGIS_DATABASE_URL`` set to the database
the run is recorded in, so it reads the same missions; the URL (which may hold a password) is
never written into the notebook or the run record.

A failed notebook (an exception in a cell, a dead kernel, a timeout) is not an exception
here: the run is recorded ``failed`` with the error, and the partly executed notebook and its
HTML are kept for reading the traceback.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from marsgis.config import settings
from marsgis.db import Engine, get_engine
from marsgis.db.report_runs import ReportRun, finish_run, get_run, insert_run
from marsgis.exceptions import ValidationError
from marsgis.io.atomic import write_text
from marsgis.reports import catalog
from marsgis.reports.runs import runner_identity

__all__ = [
    "execute_notebook",
    "execute_run",
    "export_html",
    "reports_dir",
    "run_report",
    "start_run",
]

#: kernel starts tried before a run is recorded failed; a kernel that dies before any cell
#: ran (a start failure: nothing of the report has executed) is started once more.
_KERNEL_STARTS = 2

# Jinja template: nbconvert's lab template without the scripts it fetches from CDNs
# (require.js, MathJax, Mermaid, widget managers), so a report opens on a machine without
# internet and never calls out.
_OFFLINE_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""


def reports_dir(path: str | Path | None = None) -> Path:
    """Where runs write their outputs: ``path``, else ``MARSGIS_REPORTS_DIR``."""
    return Path(path).expanduser() if path is not None else settings().reports_dir


def export_html(notebook: str | Path, html: str | Path) -> Path:
    """Write ``notebook`` as a standalone HTML page without its code cells (outputs only).

    The page embeds its images and styles and loads nothing from the network.
    """
    import jinja2
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(notebook), as_version=4)
    exporter = HTMLExporter(
        template_name="lab",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
        extra_loaders=[jinja2.DictLoader({"marsgis_report.html.j2": _OFFLINE_TEMPLATE})],
        template_file="marsgis_report.html.j2",
    )
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": Path(html).stem}})
    return write_text(Path(html), body)


def _error_from_notebook(path: Path) -> str | None:
    """``ename: evalue (cell n)`` of the first error output in an executed notebook."""
    import nbformat

    try:
        nb = nbformat.read(str(path), as_version=4)
    except (OSError, ValueError):
        return None
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return f"{output.get('ename')}: {output.get('evalue')} (cell {index})"
    return None


def _kernel_manager_class(
    env: dict[str, str], pids: list[int], log: IO[str], sockets: Path
) -> type[Any]:
    """Build a kernel manager class: ``env`` for the kernel, its stderr to ``log``, pid to ``pids``.

    The kernel talks over Unix sockets in the private folder ``sockets`` (ZeroMQ ``ipc``
    transport), not TCP ports: a TCP port is picked free and then bound by the kernel seconds
    later, and on a busy machine another process (any outgoing connection takes an ephemeral
    port from the same range) can take it in between, which kills the kernel before it answers.
    """
    from jupyter_client.manager import AsyncKernelManager

    class ReportKernelManager(AsyncKernelManager):  # type: ignore[misc]
        async def start_kernel(self, **kw: Any) -> None:  # type: ignore[override]
            self.transport = "ipc"
            self.ip = str(sockets / "kernel")
            kw.update(env=dict(env), stdout=subprocess.DEVNULL, stderr=log)
            await super().start_kernel(**kw)
            pid = getattr(self.provisioner, "pid", None)
            if pid is not None:
                pids.append(int(pid))

    return ReportKernelManager


def _started_no_cell(path: Path) -> bool:
    """Whether the executed notebook at ``path`` shows that no cell ran (the kernel never started)."""
    import nbformat

    try:
        nb = nbformat.read(str(path), as_version=4)
    except (OSError, ValueError):
        return not path.exists()
    return all(
        cell.get("execution_count") is None and not cell.get("outputs")
        for cell in nb.cells
        if cell.get("cell_type") == "code"
    )


def _in_a_thread_of_its_own(call: Callable[[], object]) -> None:
    """Run ``call`` in a new thread with an empty context; raise what it raised.

    papermill runs nbclient's coroutines through jupyter_core's ``run_sync``, which keeps its
    event loop in a context variable. A run started in a copy of a context that already holds
    one (the API starts each run in a copy of its request's context, which a server's earlier
    report may have left a loop in) would share that loop with every other such run, and the
    second one to start fails with "This event loop is already running". A thread of its own
    with an empty context gets a loop of its own, closed here when the run ends.
    """
    failure: list[BaseException] = []

    def target() -> None:
        try:
            call()
        except BaseException as exc:  # handed to the caller's thread
            failure.append(exc)
        finally:
            for value in contextvars.copy_context().values():
                if isinstance(value, asyncio.AbstractEventLoop) and not value.is_running():
                    value.close()

    worker = threading.Thread(
        target=contextvars.Context().run, args=(target,), name="marsgis-papermill", daemon=True
    )
    worker.start()
    worker.join()
    if failure:
        raise failure[0]


def _kill(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:  # already gone
            pass


def _database_url(db: str | Engine | None) -> str:
    engine = get_engine(db)
    return engine.url.render_as_string(hide_password=False)


def execute_notebook(
    notebook: str | Path,
    parameters: Mapping[str, Any],
    out_dir: str | Path,
    *,
    name: str,
    db_url: str | None = None,
    timeout_s: float | None = None,
) -> tuple[dict[str, Any], str | None]:
    """Execute ``notebook`` with papermill into ``out_dir``; never raises for a failing notebook.

    The notebook's code runs in its own kernel process (papermill and nbclient), so a crash
    there ends that kernel only.

    Parameters
    ----------
    notebook
        The notebook to run (it is not modified).
    parameters
        Values injected after its ``parameters`` cell.
    out_dir
        Folder of this run (created); also the notebook's working directory.
    name
        File stem of the outputs (``<name>.ipynb``, ``<name>.html``).
    db_url
        Database the notebook should use (set as ``MARSGIS_DATABASE_URL`` for its kernel).
    timeout_s
        Wall-clock limit of the whole execution (the kernel is killed then); None for none.

    Returns
    -------
    tuple
        ``(outputs, error)``: the paths written (``dir``, ``notebook``, ``html``) and None, or
        the error text when the notebook failed.
    """
    import papermill

    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    executed = folder / f"{name}.ipynb"
    html = folder / f"{name}.html"
    outputs: dict[str, Any] = {"dir": str(folder), "notebook": None, "html": None}
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    if db_url is not None:
        env["MARSGIS_DATABASE_URL"] = db_url
    pids: list[int] = []
    timed_out = threading.Event()
    kernel_log = folder / "kernel.log"
    outputs["kernel_log"] = str(kernel_log)

    def on_timeout() -> None:
        timed_out.set()
        _kill(pids)

    timer = None if timeout_s is None else threading.Timer(timeout_s, on_timeout)
    error: str | None = None
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        for attempt in range(1, _KERNEL_STARTS + 1):
            with (
                kernel_log.open("w" if attempt == 1 else "a", encoding="utf-8") as log,
                tempfile.TemporaryDirectory(prefix="marsgis-kernel-") as sockets,
            ):
                if attempt > 1:
                    log.write(f"\n--- kernel start {attempt}, after: {error} ---\n")
                    log.flush()
                try:
                    _in_a_thread_of_its_own(
                        lambda: papermill.execute_notebook(
                            str(notebook),
                            str(executed),
                            parameters=dict(parameters),
                            cwd=str(folder),
                            progress_bar=False,
                            kernel_manager_class=_kernel_manager_class(
                                env, pids, log, Path(sockets)
                            ),
                        )
                    )
                    error = None
                    break
                # papermill/nbclient raise many kinds; the run records them
                except Exception as exc:
                    error = _error_from_notebook(executed) if executed.exists() else None
                    if error is None:
                        error = f"{type(exc).__name__}: {exc} (the kernel's messages: {kernel_log})"
                    _kill(pids)
                    if timed_out.is_set() or not _started_no_cell(executed):
                        break  # a notebook that ran (or ran out of time) is not run twice
    finally:
        if timer is not None:
            timer.cancel()
        _kill(pids)  # a kernel papermill failed to stop
    if timed_out.is_set():
        error = (
            f"the report did not finish within {timeout_s} s and was stopped; give a larger "
            "timeout or make the report faster"
        )
    if executed.exists():
        outputs["notebook"] = str(executed)
        try:
            outputs["html"] = str(export_html(executed, html))
        except Exception as exc:  # nbconvert raises many kinds; the run must still be recorded
            message = f"HTML export failed: {type(exc).__name__}: {exc}"
            error = message if error is None else f"{error}; {message}"
    elif error is None:  # pragma: no cover - papermill writes the notebook before running it
        error = "papermill reported success but wrote no notebook"
    return outputs, error


def _run_folder(base: Path, name: str, run: ReportRun) -> Path:
    stamp = run.started_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return base / name / f"{stamp}-run{run.id}"


def execute_run(
    run: ReportRun,
    *,
    db: str | Engine | None = None,
    out_dir: str | Path | None = None,
    timeout_s: float | None = None,
) -> ReportRun:
    """Execute a recorded ``running`` run and record its outcome (never raises for a bad report).

    Used by :func:`run_report` and by the scheduler for the runs it claims.
    """
    outputs: dict[str, Any] = dict(run.outputs)
    error: str | None
    try:
        notebook = catalog.report_notebook(run.report)
        folder = _run_folder(reports_dir(out_dir), notebook.stem, run)
        produced, error = execute_notebook(
            notebook,
            run.parameters,
            folder,
            name=notebook.stem,
            db_url=_database_url(db),
            timeout_s=timeout_s,
        )
        outputs.update(produced)
    except Exception as exc:  # a report that cannot even start is a failed run, not a crash
        error = f"{type(exc).__name__}: {exc}"
    finish_run(
        run.id,
        status="failed" if error else "succeeded",
        outputs=outputs,
        error=error,
        db=db,
    )
    return get_run(run.id, db=db)


def run_report(
    report: str | Path,
    parameters: Mapping[str, Any] | None = None,
    *,
    db: str | Engine | None = None,
    out_dir: str | Path | None = None,
    timeout_s: float | None = None,
) -> ReportRun:
    """Run a report now and record the run.

    Parameters
    ----------
    report
        A shipped report's name (``"mission-plan"``) or the path of a notebook.
    parameters
        Values for its parameters cell, e.g. ``{"mission_id": "…"}``.
    db
        Database URL, engine, or None for the configured default: the run is recorded there
        and the notebook reads it.
    out_dir
        Reports folder (default ``MARSGIS_REPORTS_DIR``, else ``<data dir>/reports``).
    timeout_s
        Stop the notebook after this many seconds (recorded as failed).

    Returns
    -------
    ReportRun
        The finished run: ``status`` is ``succeeded`` (``run.html`` is the report) or
        ``failed`` (``run.error`` says why).

    Raises
    ------
    ValidationError, DataNotFoundError
        Unknown report, unknown or missing parameters (nothing is recorded).
    """
    if timeout_s is not None and not timeout_s > 0:
        raise ValidationError(f"timeout_s {timeout_s!r} must be a positive number of seconds")
    run = start_run(report, parameters, db=db)
    return execute_run(run, db=db, out_dir=out_dir, timeout_s=timeout_s)


def start_run(
    report: str | Path,
    parameters: Mapping[str, Any] | None = None,
    *,
    db: str | Engine | None = None,
) -> ReportRun:
    """Check a run's report and parameters and record it ``running``; execute it later.

    The first half of :func:`run_report`, for callers that answer before the notebook has run
    (the service API records the run, returns its id, and calls :func:`execute_run` on the
    returned run in the background). The run names this process as its runner, so
    :func:`~marsgis.reports.fail_abandoned_runs` marks it failed if the process dies first.

    Raises
    ------
    ValidationError, DataNotFoundError
        Unknown report, unknown or missing parameters (nothing is recorded).
    """
    params = catalog.check_parameters(report, parameters)
    name = catalog.report_key(report)
    return insert_run(
        report=name,
        parameters=params,
        outputs={"runner": runner_identity()},
        started_at=datetime.now(UTC),
        db=db,
    )
