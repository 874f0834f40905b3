"""Compliance over time as a PNG: one line for the whole fleet and one per ring with at least two
measurements, each ring with its threshold as a dashed line, drawn from the stored snapshots.

Rendered headless with matplotlib's Agg canvas through the object API (no pyplot: no global figure
state, no display), into memory; shared in the ticket's thread with files_upload_v2.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from remedy.db.models import ComplianceSnapshot
from remedy.db.session import Database
from remedy.remediation.facts import Facts
from remedy.remediation.store import RingView, aware
from remedy.slack.poster import Posted, Poster

FLEET = "Fleet"
MIN_POINTS = 2  # one point is no trend: no chart
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Agg draws each figure on its own, but the font cache and text layout below it are shared and not
# documented as thread-safe; `daily updates` renders several tickets' charts side by side.
RENDER_LOCK = threading.Lock()


@dataclass(frozen=True)
class Series:
    label: str
    points: tuple[tuple[datetime, float], ...]  # (UTC time, percent compliant)
    threshold: float | None = None  # a ring's success threshold, drawn as a dashed line


@dataclass(frozen=True)
class Chart:
    png: bytes
    title: str
    filename: str
    labels: tuple[str, ...]  # the lines drawn, read back from the figure (what the legend shows)


def series(db: Database, facts: Facts, rings: Sequence[RingView] = ()) -> list[Series]:
    """The fleet's series and each ring's, for the ticket's current target version, oldest point
    first; a series with fewer than two points in time is left out."""
    with db.session() as s:
        rows = s.execute(select(ComplianceSnapshot.ring, ComplianceSnapshot.taken_at, ComplianceSnapshot.compliant,
                                ComplianceSnapshot.total)
                         .where(ComplianceSnapshot.ticket_key == facts.key,
                                ComplianceSnapshot.target_version == facts.target_version)
                         .order_by(ComplianceSnapshot.taken_at, ComplianceSnapshot.id)).all()
    # Two measurements at the same moment (`compliance` and a daily update) are one point: the later wins.
    points: dict[str | None, dict[datetime, float]] = {}
    for ring, taken_at, compliant, total in rows:
        if total:  # a ring whose Macs lack the app has no rate to draw
            at = (aware(taken_at) or taken_at).astimezone(UTC).replace(tzinfo=None)
            points.setdefault(ring, {})[at] = 100.0 * compliant / total
    found = [Series(FLEET, tuple(points.get(None, {}).items()))]
    found += [Series(r.label, tuple(points.get(r.name, {}).items()), r.threshold) for r in rings]
    return [one for one in found if len(one.points) >= MIN_POINTS]


def render(facts: Facts, drawn: list[Series]) -> Chart | None:
    """The PNG, or None when there is nothing with two points to draw."""
    if not drawn:
        return None
    # Imported here: matplotlib takes a moment to load, and most jobs never draw.
    from matplotlib.dates import AutoDateLocator, DateFormatter
    from matplotlib.figure import Figure

    title = f"{facts.key} · {facts.app_name} ≥ {facts.target_version}: compliance over time"
    with RENDER_LOCK:
        fig = Figure(figsize=(8, 4.5), dpi=100)
        ax = fig.subplots()
        for one in drawn:
            times, values = zip(*one.points, strict=True)
            (line,) = ax.plot(times, values, marker="o", markersize=3, linewidth=1.6, label=one.label)
            if one.threshold is not None:
                # "_" keeps the threshold out of the legend: the legend lists the measured series.
                ax.axhline(one.threshold, color=line.get_color(), linestyle="--", linewidth=0.9,
                           label=f"_{one.label} threshold")
                ax.text(1.005, one.threshold, f"≥ {one.threshold:g}%", transform=ax.get_yaxis_transform(),
                        color=line.get_color(), fontsize=7, va="center", ha="left")
        lows = [v for one in drawn for _, v in one.points] + [o.threshold for o in drawn if o.threshold is not None]
        ax.set_ylim(max(0.0, min(lows) - 5.0), 100.5)
        ax.set_ylabel("% of Macs with the app at ≥ target")
        ax.set_title(title, fontsize=10)
        # matplotlib.dates ships without annotations on these constructors.
        ax.xaxis.set_major_locator(AutoDateLocator())  # type: ignore[no-untyped-call]
        ax.xaxis.set_major_formatter(DateFormatter("%m-%d %H:%M"))  # type: ignore[no-untyped-call]
        ax.grid(True, alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
        fig.autofmt_xdate()
        labels = tuple(str(ln.get_label()) for ln in ax.get_lines() if not str(ln.get_label()).startswith("_"))
        out = io.BytesIO()
        # No "Software" stamp: the same data gives the same bytes.
        fig.savefig(out, format="png", metadata={"Software": None})
    return Chart(out.getvalue(), title, f"{facts.key}-compliance.png", labels)


def compliance_chart(db: Database, facts: Facts, rings: Sequence[RingView] = ()) -> Chart | None:
    return render(facts, series(db, facts, rings))


def share(poster: Poster, posted: Posted, chart: Chart | None) -> str | None:
    """Attach ``chart`` under the message ``posted`` (in its thread), once per that message: a rerun
    that finds its message again (by its key) finds the chart shared too. Returns the file id."""
    if chart is None:
        return None
    thread = posted.thread_ts or posted.ts
    return poster.upload(posted.channel, thread, chart.filename, chart.png, chart.title,
                         f"{posted.channel}:{posted.ts}:chart")
