"""The trend charts' geometry and words, for the server-rendered SVG of `trends/_chart.html`.

Pure functions of a `webhooks.trends.Series`: no Flask, no database. Each chart is two SVG
panels in one coordinate system (a viewBox scaled by CSS): stacked bars of outcomes
(successes solid, failures hatched above them) and the latency's p50 (solid line, circles)
and p95 (dashed line, squares) on a logarithmic axis, so neither needs colour to be read.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from ..latency import TOP
from ..trends import Bucket, Series, Trends, Window

WIDTH, LEFT, RIGHT = 480, 46, 6          # the viewBox's width and the plot's margins
BARS_HEIGHT, LATENCY_HEIGHT = 150, 120   # each panel's viewBox height
TOP_MARGIN, BOTTOM_MARGIN = 8, 20        # room for the top tick's label and the x labels
GAP = 0.2                                 # of a column's width, between bars


@dataclass(frozen=True)
class Column:
    """One bucket on the x axis."""

    bucket: Bucket
    label: str        # "14:00–15:00 UTC" or "2026-03-22 UTC"
    tick: str         # the x-axis label under it ("" for most)
    x: float          # the bar's left edge
    width: float
    ok_y: float
    ok_height: float
    failed_y: float
    failed_height: float
    p50_y: float | None
    p95_y: float | None

    @property
    def middle(self) -> float:
        return round(self.x + self.width / 2, 2)

    @property
    def p50(self) -> str:
        return ms(self.bucket.p50_ms)

    @property
    def p95(self) -> str:
        return ms(self.bucket.p95_ms)

    @property
    def outcomes(self) -> str:
        b = self.bucket
        return f"{self.label}: {b.succeeded:,} succeeded, {b.failed:,} failed"

    @property
    def latency(self) -> str:
        b = self.bucket
        if not b.attempts:
            return f"{self.label}: no attempts timed"
        return (f"{self.label}: p50 {ms(b.p50_ms)}, p95 {ms(b.p95_ms)} "
                f"({b.attempts:,} attempt{'s' if b.attempts != 1 else ''})")


@dataclass(frozen=True)
class Chart:
    key: str             # "24h" or "30d": the ids' prefix part
    heading: str         # "Last 24 hours"
    per: str             # "hour" or "day"
    columns: list[Column]
    total: Bucket
    count_ticks: list[tuple[int, float]]    # (value, y) on the bars panel
    latency_ticks: list[tuple[str, float]]  # (label, y) on the latency panel
    p50_lines: list[str]  # polyline points, one per run of buckets with attempts
    p95_lines: list[str]

    width: ClassVar[int] = WIDTH
    left: ClassVar[int] = LEFT
    right: ClassVar[int] = WIDTH - RIGHT
    bars_height: ClassVar[int] = BARS_HEIGHT
    latency_height: ClassVar[int] = LATENCY_HEIGHT
    plot_top: ClassVar[int] = TOP_MARGIN

    def bottom(self, height: int) -> int:
        """The y of a panel's x axis."""
        return height - BOTTOM_MARGIN

    @property
    def p50(self) -> str:
        return ms(self.total.p50_ms)

    @property
    def p95(self) -> str:
        return ms(self.total.p95_ms)


def ms(value: float | None) -> str:
    """A latency as shown: whole milliseconds; the histogram's open top bucket as "≥"."""
    if value is None:
        return "–"
    return f"≥ {TOP:,} ms" if value >= TOP else f"{round(value):,} ms"


def charts(trends: Trends) -> list[Chart]:
    """The 24 h chart, then the 30 d one."""
    return [chart(trends.hours, "24h", "Last 24 hours", "hour"),
            chart(trends.days, "30d", "Last 30 days", "day")]


def chart(series: Series, key: str, heading: str, per: str) -> Chart:
    """One window's panels: bars scaled to the busiest bucket, latency to the slowest p95."""
    buckets = series.buckets
    count_top = nice(max(b.final for b in buckets))
    decades = _decades(max((b.p95_ms or 0) for b in buckets))
    step = (WIDTH - LEFT - RIGHT) / len(buckets)
    columns = [_column(b, n, len(buckets), step, series.window, count_top, decades)
               for n, b in enumerate(buckets)]
    count_ticks = [(v, _y(v, count_top, BARS_HEIGHT)) for v in sorted({0, count_top // 2,
                                                                      count_top})]
    latency_ticks = [(_axis_ms(10 ** k), _y(k, decades, LATENCY_HEIGHT))
                     for k in range(decades + 1)]
    return Chart(key, heading, per, columns, series.total, count_ticks, latency_ticks,
                 _lines(columns, "p50_y"), _lines(columns, "p95_y"))


def _axis_ms(value: int) -> str:
    return f"{value // 1000} s" if value >= 1000 else f"{value} ms"


def _decades(largest: float) -> int:
    """The latency axis is logarithmic, from 1 ms up to this many powers of ten (at least
    100 ms): one slow outlier does not flatten the rest."""
    return max(2, math.ceil(math.log10(max(largest, 1))))


def _latency_y(value: float | None, decades: int) -> float | None:
    if value is None:
        return None
    return _y(min(math.log10(max(value, 1)), decades), decades, LATENCY_HEIGHT)


def nice(value: float) -> int:
    """The smallest 1, 2 or 5 × 10^k at or above `value` (at least 2, so 0 and 1 sit apart
    from the middle tick)."""
    top = 2
    while top < value:
        top = top * 5 // 2 if str(top)[0] == "2" else top * 2
    return top


def _column(b: Bucket, n: int, count: int, step: float, window: Window, count_top: int,
            decades: int) -> Column:
    ok_y = _y(b.succeeded, count_top, BARS_HEIGHT)
    failed_y = _y(b.final, count_top, BARS_HEIGHT)
    base = _y(0, count_top, BARS_HEIGHT)
    every = 6 if window is Window.HOURS_24 else 7
    tick = "" if (count - 1 - n) % every else (
        f"{b.start:%H:%M}" if window is Window.HOURS_24 else f"{b.start:%m-%d}")
    return Column(
        b, _label(b, window), tick, round(LEFT + n * step + step * GAP / 2, 2),
        round(step * (1 - GAP), 2), ok_y, round(base - ok_y, 2), failed_y,
        round(ok_y - failed_y, 2),
        _latency_y(b.p50_ms, decades), _latency_y(b.p95_ms, decades))


def _label(b: Bucket, window: Window) -> str:
    if window is Window.HOURS_24:
        return f"{b.start:%H:%M}–{b.end:%H:%M} UTC"
    return f"{b.start:%Y-%m-%d} UTC"


def _y(value: float, top: float, height: int) -> float:
    """The y of a value on a panel whose axis runs from 0 (bottom) to `top`."""
    plot = height - TOP_MARGIN - BOTTOM_MARGIN
    return round(height - BOTTOM_MARGIN - plot * value / top, 2)


def _lines(columns: list[Column], attribute: str) -> list[str]:
    """Polyline points for each run of columns that have a value (gaps where none)."""
    runs: list[list[str]] = [[]]
    for c in columns:
        y = getattr(c, attribute)
        if y is None:
            runs.append([])
        else:
            runs[-1].append(f"{c.middle:.2f},{y}")
    return [" ".join(run) for run in runs if run]


def trend_context(trends: Trends, scope: str) -> dict:
    """What `trends/_trends.html` needs; `scope` says whose deliveries ("of this webhook")."""
    return {"trend_charts": charts(trends), "trend_scope": scope}
