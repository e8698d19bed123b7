"""The geometry of the reports' pictures: heatmaps, histograms and bar charts as plain numbers.

Nothing here writes markup. Each function turns numbers from result.json into positioned shapes
(dataclasses) that a Jinja2 macro in `templates/charts.html.j2` draws as inline SVG, so every
piece of text in a picture passes through the template engine's escaping like any other text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

# A white-to-dark-red ramp: small errors fade into the page, the largest stand out.
HEAT_STOPS = (
    (0.0, (255, 255, 255)),
    (0.2, (255, 240, 170)),
    (0.45, (250, 160, 60)),
    (0.75, (215, 48, 31)),
    (1.0, (103, 0, 13)),
)
# The largest heatmap, in pixels; cells shrink to fit, down to MIN_CELL.
HEAT_WIDTH, HEAT_HEIGHT, MAX_CELL, MIN_CELL = 384, 256, 14, 3
# The side of the judge's pooled grid (grader/judge.py DIFF_MAP_SIDE): a larger gradient is shown
# max-pooled, each cell the worst of a block of entries.
POOL_SIDE = 32


@dataclass
class Cell:
    x: int
    y: int
    fill: str


@dataclass
class Heatmap:
    """A grid of coloured cells, with what a reader needs to read it."""

    width: int
    height: int
    cell: int
    cells: list[Cell]
    vmax: float
    rows: int  # the gradient's own rows and columns, before pooling
    cols: int
    block: tuple[int, int]  # entries per cell (rows, cols); (1, 1) when nothing was pooled
    legend: list[str] = field(default_factory=list)  # the ramp's colours, left to right


def heat_colour(t: float) -> str:
    """The ramp's colour at t in [0, 1] (clamped), as #rrggbb (called for every cell of every
    heatmap, hence written out channel by channel)."""
    t = min(max(t, 0.0), 1.0) if math.isfinite(t) else 1.0
    for t0, t1, (r0, g0, b0), (r1, g1, b1) in _HEAT_SEGMENTS:
        if t <= t1:
            f = (t - t0) / (t1 - t0)
            r, g, b = (
                round(r0 + (r1 - r0) * f),
                round(g0 + (g1 - g0) * f),
                round(b0 + (b1 - b0) * f),
            )
            return f"#{r:02x}{g:02x}{b:02x}"
    r, g, b = HEAT_STOPS[-1][1]
    return f"#{r:02x}{g:02x}{b:02x}"


_HEAT_SEGMENTS = [
    (t0, t1, c0, c1) for (t0, c0), (t1, c1) in zip(HEAT_STOPS, HEAT_STOPS[1:], strict=False)
]


def heatmap(grid: list[list[float]], shape: list[int] | None = None) -> Heatmap | None:
    """The heatmap of a judge's diff map; `shape` is the gradient's shape, to label the pooling."""
    if not grid or not grid[0]:
        return None
    n_rows, n_cols = len(grid), max(len(r) for r in grid)
    cell = max(MIN_CELL, min(MAX_CELL, HEAT_WIDTH // n_cols, HEAT_HEIGHT // n_rows))
    values = [v for r in grid for v in r if isinstance(v, int | float) and math.isfinite(v)]
    vmax = max(values, default=0.0)
    # A pooled map of a wrong gradient holds a few distinct values (~11 in ~350 cells in the
    # example class): each colour is worked out once per map.
    colours: dict[float, str] = {}

    def colour(t: float) -> str:
        fill = colours.get(t)
        if fill is None:
            fill = colours[t] = heat_colour(t)
        return fill

    cells = [
        Cell(j * cell, i * cell, colour(_share(v, vmax)))
        for i, r in enumerate(grid)
        for j, v in enumerate(r)
    ]
    rows, cols = _matrix_dims(shape, n_rows, n_cols)
    block = (-(-rows // POOL_SIDE), -(-cols // POOL_SIDE))
    legend = [heat_colour(k / 10) for k in range(11)]
    return Heatmap(n_cols * cell, n_rows * cell, cell, cells, vmax, rows, cols, block, legend)


def _share(v: object, vmax: float) -> float:
    if not isinstance(v, int | float):
        return 0.0
    if not math.isfinite(v):
        return 1.0
    return v / vmax if vmax > 0 else 0.0


def _matrix_dims(shape: list[int] | None, n_rows: int, n_cols: int) -> tuple[int, int]:
    """The gradient seen as a matrix the way the judge flattens it: first dim by the rest."""
    if not shape:
        return n_rows, n_cols
    if len(shape) == 1:
        return 1, shape[0]
    return shape[0], math.prod(shape[1:])


@dataclass
class Bar:
    """One bar: its box, its label and the number written beside it."""

    x: float
    y: float
    width: float
    height: float
    label: str
    value: str
    fill: str
    title: str = ""


@dataclass
class BarChart:
    width: int
    height: int
    bars: list[Bar]
    axis_y: float = 0.0  # the baseline (histograms) or the left edge of the bars (rate charts)
    ticks: list[tuple[float, str]] = field(default_factory=list)


def histogram(
    counts: list[int], labels: list[str], width: int = 520, height: int = 200
) -> BarChart:
    """Vertical bars, one per bin, tallest bar at full height; counts written above each bar."""
    top, bottom = 18, 28
    plot_h = height - top - bottom
    slot = width / max(len(counts), 1)
    peak = max(counts, default=0) or 1
    bars = []
    for k, (c, label) in enumerate(zip(counts, labels, strict=True)):
        h = plot_h * c / peak
        bars.append(
            Bar(
                x=k * slot + 3,
                y=top + plot_h - h,
                width=slot - 6,
                height=h,
                label=label,
                value=str(c),
                fill="#4b78b8",
                title=f"{label}: {c} submission{'s' if c != 1 else ''}",
            )
        )
    return BarChart(width, height, bars, axis_y=top + plot_h)


def rate_bars(
    rows: list[tuple[str, float | None, str]],
    width: int = 640,
    row_h: int = 18,
    label_w: int = 190,
    values: list[str] | None = None,
    value_w: int = 50,
) -> BarChart:
    """Horizontal bars for shares in [0, 1]: (label, share, tooltip) each, in the given order.

    A share of None is a row with nothing to measure (an item no submission tried): it gets no
    bar and the words "no one tried", where a 0% bar would read as everybody failing it.
    `values` replaces the percentage written beside each bar (a count beside it: "40% of 5").
    """
    plot_w = width - label_w - value_w
    bars = [
        Bar(
            x=label_w,
            y=k * row_h + 2,
            width=0.0 if share is None else plot_w * min(max(share, 0.0), 1.0),
            height=row_h - 4,
            label=label,
            value=values[k] if values else _share_text(share),
            fill=rate_colour(share or 0.0),
            title=title,
        )
        for k, (label, share, title) in enumerate(rows)
    ]
    ticks = [(label_w + plot_w * q, f"{100 * q:.0f}%") for q in (0, 0.25, 0.5, 0.75, 1)]
    return BarChart(width, len(rows) * row_h + 20, bars, axis_y=label_w, ticks=ticks)


NO_SHARE = "no one tried"


def _share_text(share: float | None) -> str:
    return NO_SHARE if share is None else share_percent(share)


def share_percent(share: float) -> str:
    """A share in [0, 1] as a whole percentage that never rounds to all or none of it: a share
    of 249 passed of 250 read "100%" beside a full bar, as an item the whole class passed, and
    1 of 250 read "0%". Such a share reads ">99%" or "<1%"."""
    whole = round(100 * share)
    if whole >= 100 and share < 1:
        return ">99%"
    if whole <= 0 < share:
        return "<1%"
    return f"{whole:.0f}%"


def rate_colour(share: float) -> str:
    """Red for what almost nobody got right, through amber, to green for what everybody did."""
    share = min(max(share, 0.0), 1.0)
    if share < 0.5:
        a, b, f = (200, 60, 50), (230, 160, 40), share / 0.5
    else:
        a, b, f = (230, 160, 40), (60, 150, 80), (share - 0.5) / 0.5
    return "#" + "".join(f"{round(x + (y - x) * f):02x}" for x, y in zip(a, b, strict=True))
