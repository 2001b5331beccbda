"""Pydantic models of the report routes (``/reports``): report kinds, runs and schedules.

Runs and schedules are those of :mod:`marsgis.reports`; where a run wrote its files stays on
the server (a run's HTML is fetched from ``/reports/runs/{id}/html``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from marsgis.reports import ReportInfo, ReportRun, Schedule

__all__ = ["ReportOut", "RunIn", "RunOut", "ScheduleIn", "ScheduleOut"]


class ReportOut(BaseModel):
    """A report that can be run: its name and parameters (``marsgis.reports.report_info``)."""

    name: str
    parameters: dict[str, dict[str, str]] = Field(
        description="parameter -> {name, inferred_type_name, default, help}"
    )
    required: list[str]

    @classmethod
    def of(cls, info: ReportInfo) -> ReportOut:
        """The response model of a :class:`marsgis.reports.ReportInfo`."""
        return cls(name=info.name, parameters=info.parameters, required=list(info.required))


class RunIn(BaseModel):
    """Body of ``POST /reports/runs``: which report, for which mission, with what parameters."""

    model_config = ConfigDict(extra="forbid")
    report: str = Field(description="a report name of GET /reports", examples=["mission-plan"])
    mission_id: str | None = Field(
        None, description="the mission the report is about (its mission_id parameter)"
    )
    parameters: dict[str, Any] = Field({}, description="values for the report's parameters")


class RunOut(BaseModel):
    """A report run: ``running``, then ``succeeded`` (HTML at ``html_url``) or ``failed``."""

    id: int
    report: str
    parameters: dict[str, Any]
    status: Literal["running", "succeeded", "failed"]
    started_at: datetime
    finished_at: datetime | None
    duration_s: float | None
    error: str | None
    schedule_id: int | None
    schedule: str | None
    due_at: datetime | None
    html_url: str | None = Field(description="where the rendered report is, once written")

    @classmethod
    def of(cls, run: ReportRun, html_url: str | None) -> RunOut:
        """The response model of a :class:`marsgis.reports.ReportRun`."""
        return cls(
            id=run.id,
            report=run.report,
            parameters=run.parameters,
            status=run.status,  # type: ignore[arg-type]
            started_at=run.started_at,
            finished_at=run.finished_at,
            duration_s=run.duration_s,
            error=run.error,
            schedule_id=run.schedule_id,
            schedule=run.schedule_name,
            due_at=run.due_at,
            html_url=html_url,
        )


class ScheduleIn(BaseModel):
    """Body of ``POST /reports/schedules`` (see ``marsgis.reports.add_schedule``)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200, examples=["gale daily"])
    report: str = Field(examples=["mission-plan"])
    cron: str = Field(description="cron expression, UTC", examples=["0 6 * * *"])
    parameters: dict[str, Any] = {}
    enabled: bool = True


class ScheduleOut(BaseModel):
    """A stored schedule; ``next_run_at`` is its next due time (UTC)."""

    id: int
    name: str
    report: str
    cron: str
    parameters: dict[str, Any]
    enabled: bool
    next_run_at: datetime
    created_at: datetime

    @classmethod
    def of(cls, schedule: Schedule) -> ScheduleOut:
        """The response model of a :class:`marsgis.reports.Schedule`."""
        return cls(
            id=schedule.id,
            name=schedule.name,
            report=schedule.report,
            cron=schedule.cron,
            parameters=schedule.parameters,
            enabled=schedule.enabled,
            next_run_at=schedule.next_run_at,
            created_at=schedule.created_at,
        )
