"""Parameterised papermill reports, their schedules and the record of every run.

>>> from marsgis import reports
>>> run = reports.run_report("mission-plan", {"mission_id": "…"})  # doctest: +SKIP
>>> run.status, run.html  # doctest: +SKIP
>>> reports.add_schedule("gale daily", "mission-plan", "0 6 * * *", {"mission_id": "…"})  # doctest: +SKIP
>>> reports.run_scheduler(once=True)  # doctest: +SKIP

Reports are notebooks with a ``parameters`` cell (shipped ones in ``marsgis/reports/notebooks/``);
runs write the executed notebook and an HTML export without code to ``MARSGIS_REPORTS_DIR``
and are recorded in the database. See ``docs/reports.md``.
"""

from marsgis.reports.catalog import ReportInfo, list_reports, report_info, report_notebook
from marsgis.reports.dashboard import ReportsBrowser
from marsgis.reports.execute import execute_run, export_html, run_report, start_run
from marsgis.reports.mission_plan import MissionReport, mission_report, plan_figure, report_risk
from marsgis.reports.runs import (
    ReportRun,
    fail_abandoned_runs,
    get_run,
    list_runs,
    runs_frame,
)
from marsgis.reports.scheduler import (
    DEFAULT_LEASE_S,
    recover_expired_leases,
    run_due,
    run_scheduler,
)
from marsgis.reports.schedules import (
    Schedule,
    add_schedule,
    get_schedule,
    list_schedules,
    remove_schedule,
    validate_cron,
)
from marsgis.reports.views import download_link, embed_report, runs_table

__all__ = (
    "DEFAULT_LEASE_S",
    "MissionReport",
    "ReportInfo",
    "ReportRun",
    "ReportsBrowser",
    "Schedule",
    "add_schedule",
    "download_link",
    "embed_report",
    "execute_run",
    "export_html",
    "fail_abandoned_runs",
    "get_run",
    "get_schedule",
    "list_reports",
    "list_runs",
    "list_schedules",
    "mission_report",
    "plan_figure",
    "recover_expired_leases",
    "remove_schedule",
    "report_info",
    "report_notebook",
    "report_risk",
    "run_due",
    "run_report",
    "run_scheduler",
    "runs_frame",
    "runs_table",
    "start_run",
    "validate_cron",
)
