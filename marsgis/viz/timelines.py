"""Timelines as plain HTML: one row per resource, one bar per period it is held.

Used by the bay timeline (:class:`~marsgis.viz.dashboards.BayTimeline`): bars are absolutely
positioned ``<div>`` elements, so the page needs no plotting library and fetches nothing, and
each bar carries its data in attributes (``data-booking-id``, ``data-start``, ``data-end``).

>>> from datetime import UTC, datetime
>>> t0 = datetime(2031, 5, 1, tzinfo=UTC)
>>> bar = Bar("A1", t0, datetime(2031, 5, 1, 12, tzinfo=UTC), "Ares Dawn", {"booking-id": 1})
>>> html = timeline_html([("A1", "Bay A1")], [bar], start=t0, days=2)
>>> "left:0.00%;width:25.00%" in html
True
"""

from __future__ import annotations

import html as _html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from marsgis.exceptions import ValidationError

__all__ = ["Bar", "timeline_html"]

_PALETTE = ("#2b6cb0", "#2f855a", "#b7791f", "#805ad5", "#c05621", "#2c7a7b", "#b83280")


@dataclass(frozen=True)
class Bar:
    """A period ``[start, end)`` on a row of the timeline.

    Attributes
    ----------
    row
        The key of the row it belongs to.
    start, end
        Aware datetimes.
    label
        Text written on the bar (and its tooltip, with the times).
    data
        ``data-*`` attributes of the bar (``{"booking-id": 3}`` → ``data-booking-id="3"``).
    color
        CSS colour; default one of a palette, by label.
    """

    row: str
    start: datetime
    end: datetime
    label: str
    data: Mapping[str, object] = field(default_factory=dict)
    color: str | None = None


def _pct(value: float) -> str:
    return f"{100.0 * min(max(value, 0.0), 1.0):.2f}%"


def timeline_html(
    rows: Sequence[tuple[str, str]],
    bars: Sequence[Bar],
    *,
    start: datetime,
    days: int,
    css_class: str = "marsgis-timeline",
) -> str:
    """An HTML timeline of ``days`` days from ``start`` (UTC), one line per ``(key, label)`` row.

    Bars outside the window are left out; a bar crossing its edge is cut there. Day lines are
    drawn at each UTC midnight, labelled with the date every ``ceil(days / 14)`` days.
    """
    if start.tzinfo is None:
        raise ValidationError(f"start {start!r} must be a timezone-aware datetime")
    if not isinstance(days, int) or days < 1:
        raise ValidationError(f"days {days!r} must be a positive number of days")
    end = start + timedelta(days=days)
    span = (end - start).total_seconds()

    def at(t: datetime) -> float:
        return (t - start).total_seconds() / span

    colors: dict[str, str] = {}
    grid, ticks = [], []
    step = -(-days // 14)
    first = start.replace(hour=0, minute=0, second=0, microsecond=0)
    day = first if first >= start else first + timedelta(days=1)
    n = 0
    while day < end:
        where = _pct(at(day))
        grid.append(
            f"<div style='position:absolute;left:{where};top:0;bottom:0;"
            "border-left:1px solid #e2e8f0'></div>"
        )
        if n % step == 0:
            ticks.append(
                f"<span style='position:absolute;left:{where};padding-left:2px;"
                f"white-space:nowrap;font-size:10px;color:#718096'>{day:%m-%d}</span>"
            )
        day += timedelta(days=1)
        n += 1
    lines = [
        f"<div class='{css_class}' data-start='{start.isoformat()}' data-days='{days}' "
        "style='font-size:12px;margin:4px 0'>"
        "<div style='display:flex;height:16px'><div style='width:150px;flex:none'></div>"
        f"<div style='position:relative;flex:1'>{''.join(ticks)}</div></div>"
    ]
    for key, row_label in rows:
        cells = []
        for bar in bars:
            if bar.row != key or bar.end <= start or bar.start >= end:
                continue
            left, right = at(max(bar.start, start)), at(min(bar.end, end))
            color = bar.color or colors.setdefault(bar.label, _PALETTE[len(colors) % len(_PALETTE)])
            attrs = "".join(
                f" data-{_html.escape(k)}='{_html.escape(str(v))}'" for k, v in bar.data.items()
            )
            tip = (
                f"{bar.label}: {bar.start.strftime('%Y-%m-%d %H:%M')} – "
                f"{bar.end.strftime('%Y-%m-%d %H:%M')} UTC"
            )
            cells.append(
                f"<div class='{css_class}-bar'{attrs} data-start='{bar.start.isoformat()}' "
                f"data-end='{bar.end.isoformat()}' title='{_html.escape(tip)}' "
                f"style='position:absolute;left:{_pct(left)};width:{_pct(right - left)};"
                f"top:3px;bottom:3px;min-width:3px;background:{color};color:white;"
                "border-radius:3px;overflow:hidden;white-space:nowrap;padding:0 3px;"
                f"box-sizing:border-box;line-height:20px'>{_html.escape(bar.label)}</div>"
            )
        lines.append(
            f"<div class='{css_class}-row' data-row='{_html.escape(key)}' "
            "style='display:flex;align-items:stretch;height:26px;border-bottom:1px solid #edf2f7'>"
            f"<div style='width:150px;flex:none;line-height:26px'>{_html.escape(row_label)}</div>"
            "<div style='position:relative;flex:1;background:#f7fafc'>"
            + "".join(grid)
            + "".join(cells)
            + "</div></div>"
        )
    lines.append("</div>")
    return "".join(lines)
