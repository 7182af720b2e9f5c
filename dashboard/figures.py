"""Figures: pure functions, DataFrames and plain values in, ``go.Figure`` out.

No Dash import.  Conventions:
- spaghetti plots draw one trace per group with NaN gaps between patients
  (lines only above ``LARGE_THRESHOLD`` points), never one trace per patient;
- every point's ``customdata`` starts with the patient id, so a click on any
  figure names the patient;
- colours are Okabe-Ito (colour-blind safe); the severity scale darkens
  monotonically, so it also reads in greyscale;
- every title carries the n it rests on, and a figure showing simulated
  values says so in its title and hover.

Figures are assembled as plain dicts and wrapped once with
``go.Figure(spec, _validate=False)``: plotly.py's property validation costs
several milliseconds per trace and dominated the callbacks' time.  The tests
re-validate every figure the views produce (``validate``), so a misspelt
property still fails a test.
"""

from __future__ import annotations

import copy
import functools
import re
import textwrap
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from .data import MEASURES, SEVERITIES, WS_MEASURES, profile_panels
from .stats import with_both_slopes
from .untrusted import plain_text, plain_texts

#: How plotly.py writes figures as JSON: every answer of the app (Dash encodes it with plotly.py), the report and
#: the exports.  Left to itself ("auto"), plotly.py uses orjson whenever that package is installed, and its orjson
#: path first rewrites the whole answer in Python: the same JSON, written up to 5 times slower (the ALSFRS view's
#: answer: 5.2 ms against 3.0 for the shipped data, 257 against 52 for 10,000 patients; bench/README.md).  The
#: standard json module, whatever else is installed.
JSON_ENGINE = "json"
pio.json.config.default_engine = JSON_ENGINE

# Okabe-Ito
ORANGE, SKY, GREEN, YELLOW, BLUE, VERMILLION, PURPLE, BLACK, GREY = (
    "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000", "#8C8C8C")
GROUP_COLOURS = {"progressor": VERMILLION, "stable": BLUE, "all": SKY}
GROUP_LABELS = {"progressor": "Progressors", "stable": "Stable", "all": "Patients"}
#: Progression groups keep their colours; other groups take the palette colour of their rank among the
#: dataset's groups (so a group keeps its colour whatever the filter), a control arm grey.
PROGRESSION_COLOURS = {"progressor": VERMILLION, "stable": BLUE, "unclassified": ORANGE,
                       "not in efficacy population": PURPLE}
GROUP_PALETTE = (BLUE, VERMILLION, GREEN, ORANGE, PURPLE, SKY, YELLOW)
CONTROL_COLOUR, UNRECORDED_GROUP_COLOUR = "#6E6E6E", "#BDBDBD"


@dataclass(frozen=True)
class GroupStyle:
    """How a colour group is drawn: its legend label and colour."""

    label: str
    colour: str


def group_styles(groups, grouped: bool = True) -> dict[str, GroupStyle]:
    """Group key -> style, in display order, for ``cohorts.Group``s (``grouped`` False: the one "all" group)."""
    if not grouped:
        return {"all": GroupStyle(GROUP_LABELS["all"], GROUP_COLOURS["all"])}
    out = {}
    for g in groups:
        if g.control:
            colour = CONTROL_COLOUR
        elif g.key == "not recorded":
            colour = UNRECORDED_GROUP_COLOUR
        else:
            colour = PROGRESSION_COLOURS.get(g.key) or GROUP_PALETTE[g.rank % len(GROUP_PALETTE)]
        out[g.key] = GroupStyle(g.label, colour)
    return out


#: The styles of the progression comparison and of an ungrouped cohort (figures called without styles).
DEFAULT_STYLES = {k: GroupStyle(GROUP_LABELS[k], GROUP_COLOURS[k]) for k in GROUP_LABELS}


def _styles(styles) -> dict[str, GroupStyle]:
    return DEFAULT_STYLES if styles is None else styles
HIGHLIGHT_COLOUR = BLACK
LIMB_COLOURS = dict(zip(WS_MEASURES, (BLUE, SKY, VERMILLION, ORANGE)))
#: Each measure its own colour (the patient profile): the limbs', and three more Okabe-Ito colours.
MEASURE_COLOURS = {"ALSFRS": GREEN, "ALSFRS_R": BLACK, "FVC": PURPLE, **LIMB_COLOURS}
#: Measures sharing a profile panel (the four limbs) differ in dash and marker too, and are drawn widest first.
PROFILE_DASHES = ("solid", "dash", "dot", "dashdot")
PROFILE_SYMBOLS = ("circle", "square", "diamond", "triangle-up")
#: A profile panel's y range: the measure's scale and this share of it on each side.
PROFILE_PAD = 0.04
#: Ordinal severity scale: none, mild, moderate, severe, death (luminance falls monotonically).
SEVERITY_COLOURS = ["#F2F2F2", "#FDD49E", "#FC8D59", "#D7301F", "#3B0A0A"]
SEVERITY_LEVELS = ("none",) + tuple(s.lower() for s in SEVERITIES)
#: The colour of "not recorded" (a seriousness, relationship or severity the dataset does not give): mid grey.
NOT_RECORDED_COLOUR = "#9E9E9E"
#: Above this many points a spaghetti plot draws lines only (one SVG path per group, no markers):
#: fast to draw without WebGL, which remote desktops in hospitals often lack.  Each marker is an SVG node of
#: its own: 5,552 FVC values of 1,000 patients took 0.70 s to draw with markers (bench/draw.py), 3,468
#: ALSFRS segments as lines 0.12 s.  The lines are a path shape (:meth:`_Spec.segments`), not a trace: plotly
#: draws a trace's line as one SVG element per unbroken piece, and 10,000 patients' FVC are 8,450 pieces (1.0 s).
LARGE_THRESHOLD = 2000
#: The decimals of a path shape's coordinates (data units: months, points, %): far below a pixel.
PATH_DECIMALS = 3
#: The adverse-event heatmap labels its rows up to this many patients; above, its rows are thin and
#: unlabelled, all of them within HEATMAP_MAX_HEIGHT pixels (a row may be under a pixel: hover names it).
HEATMAP_LABELLED_ROWS, HEATMAP_MAX_HEIGHT = 120, 2400
#: The heatmap labels at most this many of its columns (every k-th where there are more): vertical labels of
#: 13 px need about 16 px each, and a plot is about 1,000 px wide.
HEATMAP_LABELLED_TERMS = 50
#: A waterfall of more patients than this draws each as a line from zero (one path per group), not a bar.
WATERFALL_BARS = 300
#: A slope-pairs plot of more patients than this draws each group's pairs as one unbroken line (one SVG path).
PAIRS_AS_ONE_LINE = 300
#: A slide (1600 px wide) labels a bar axis of at most this many categories (a waterfall's patients): more would
#: be under 36 px apart, too close for labels a room can read (assets/dashboard.js reads it from the page).
SLIDE_MAX_CATEGORIES = 40
#: A slide's size in pixels (the PNG/SVG buttons, the toolbar camera and the ``figures`` command); the page hands
#: it and SLIDE_MAX_CATEGORIES to assets/dashboard.js (data attributes of the app's root).
SLIDE = {"width": 1600, "height": 900}
#: Heatmap rows are this many pixels high (a row label fits); HEATMAP_BOTTOM pixels under the rows hold the note.
HEATMAP_ROW_PX, HEATMAP_BOTTOM = 26, 48
#: The heatmap's term labels by the number of terms: (up to this many terms, tick angle, lines per label,
#: characters per line).  Steeper and on fewer lines as the columns narrow, so that neighbours never touch.
TERM_LABELS = ((10, -30, 2, 24), (20, -60, 1, 32), (None, -90, 1, 32))
#: In presentation mode a heatmap shows at most this many rows, each labelled: more patients are
#: aggregated into labelled bands of consecutive rows (the worst value of the band per term).
PRESENT_HEATMAP_ROWS, PRESENT_ROW_PX = 20, 34
#: ... and labels at most this many of its columns (labels of 20 px need about 26 px each), of at most this
#: many characters
PRESENT_HEATMAP_TERMS, PRESENT_TERM_CHARS = 30, 16
#: The left margin (px), and what each line of a y-axis title after the first adds to it.  A margin that
#: already fits spares plotly.js a second drawing: where automargin has to widen it (a two-line title needed
#: 92 px, not 64), plotly draws the figure again, which doubled the first drawing of the waterfall (43 -> 20 ms)
#: and of the slope pairs (34 -> 15 ms), and made every redraw of the waterfall twice as slow.
LEFT_MARGIN, Y_TITLE_LINE_PX = 64, 36
#: A legend under the plot starts this many font sizes under it (tick labels and the x-axis title above it).
LEGEND_GAP = 4.4
#: The figures' font size, their title's (plotly: 1.4 times the font) and the projector's (for_projector).
BASE_FONT, TITLE_SIZE, PROJECTOR_FONT, PROJECTOR_TITLE = 13, 18, 20, 26
#: An axis that keeps room for the figure title above its top-side labels (_reserve_title): this much
#: taller than the title's font.
TITLE_RESERVE_PAD = 10
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
SIMULATED_TAG = "SIMULATED"


@dataclass(frozen=True)
class TimeWords:
    """What day 0 is called on the time axis (a dataset's metadata.json ``day0_label``, ``treatment_label``)."""

    day0: str = "Day 0"
    treatment: str = "treatment"

    @classmethod
    def of(cls, ds) -> TimeWords:
        return cls(ds.day0_label, ds.treatment_label)

    @property
    def months(self) -> str:
        """The time axis's title: "Months from application (day 0)", or "Months from day 0" by default."""
        return "Months from day 0" if self.treatment == "treatment" else f"Months from {self.treatment} (day 0)"

    @property
    def since(self) -> str:
        """"months from application" in a sentence."""
        return "months from day 0" if self.treatment == "treatment" else f"months from {self.treatment}"


#: Neutral words: a dataset without them in its metadata.
NEUTRAL_TIME = TimeWords()


#: The trace types the dashboard's figures are drawn with (a test checks every view's figures against it).
TRACE_TYPES = ("scatter", "bar", "heatmap")
#: plotly_white's layout parts for kinds of plot the dashboard never draws.
UNUSED_TEMPLATE_LAYOUT = ("polar", "ternary", "scene", "geo")
#: Set on every x and y axis (through the template).  plotly.js's default, "hide past div", measures every tick
#: label of an axis again after placing each one (a label count squared of box reads per axis per drawing: on
#: the weakness grid 3.7 of a 41.6 ms redraw, the ALSFRS spaghetti 5.6 of 29).  Our labels lie inside the
#: figure (automargin makes room for them; a browser test checks each one's box), so there is nothing to hide.
AXIS_DEFAULTS = {"ticklabeloverflow": "allow"}


@functools.lru_cache(maxsize=1)
def _template() -> dict:
    """plotly_white as a plain dict, built once per process: its layout but for the parts of plot kinds never
    drawn here (UNUSED_TEMPLATE_LAYOUT), with AXIS_DEFAULTS on its axes, and its defaults for the trace types
    drawn (TRACE_TYPES) only.  The rest (20 other trace types' colour scales, polar and 3-D axes) was 4.7 of
    each figure's 7.2 kB: plotly.py copied it twice per figure, and every change sent it for every figure."""
    full = pio.templates["plotly_white"].to_plotly_json()
    lay = {k: v for k, v in full["layout"].items() if k not in UNUSED_TEMPLATE_LAYOUT}
    for axis in ("xaxis", "yaxis"):  # a template's xaxis and yaxis apply to every x and y axis
        lay[axis] = {**lay.get(axis, {}), **AXIS_DEFAULTS}
    return {"layout": lay,
            "data": {k: v for k, v in full["data"].items() if k in TRACE_TYPES}}


def mark_simulated(fig: go.Figure, text: str) -> go.Figure:
    """Add the simulated-data line under a figure's title (in place), unless it already has one."""
    meta = dict(fig.layout.meta) if isinstance(fig.layout.meta, dict) else {}
    if meta.get("simulated"):
        return fig
    fig.update_layout(title_text=f"{fig.layout.title.text or ''}<br><sup>{SIMULATED_TAG}: {text}</sup>",
                      meta={**meta, "simulated": text},
                      margin_t=max(76, (fig.layout.margin.t or 0) + 20))
    return fig


def title_text(title: str, n: int | None = None, simulated: str | None = None) -> str:
    t = title
    if n is not None:
        t += f" (n = {n})"
    if simulated:
        t += f"<br><sup>{SIMULATED_TAG}: {simulated}</sup>"
    return t


class _Spec:
    """A figure under construction: traces and layout as plain dicts."""

    def __init__(self):
        self.data: list[dict] = []
        self.layout: dict = {"shapes": [], "annotations": [], "xaxis": {}, "yaxis": {}}

    def trace(self, **t) -> None:
        for key in ("customdata", "text"):
            if isinstance(t.get(key), np.ndarray) and t[key].dtype == object:
                t[key] = text_array(t[key])
        self.data.append(t)

    def segments(self, x, y, *, name: str, colour: str, width: float, opacity: float, legendgroup: str,
                 customdata, hovertemplate: str, showlegend: bool = True, axes: dict | None = None,
                 dash: str = "solid") -> None:
        """Many line segments (``x``, ``y``: a NaN gap after each, as :func:`_segments` makes them) drawn fast.

        Plotly draws a trace's line as one SVG element per unbroken piece: 10,000 patients' FVC, 8,450 segments,
        took 1.1 s to draw in the page.  Here they are one path shape (:func:`_segment_path`: one element, 0.26 s),
        layer "below" (plotly.js leaves a
        "between" shape drawn when its legend group is hidden), shown and hidden with its legend group; the
        group's legend entry is a trace of no points (a shape's own legend symbol is a faint glyph); and a trace
        of mode "none" holds the same points for hover and clicks and draws nothing.

        Where one unbroken line can hide what joins its pieces (slope pairs, waterfall needles), that line is
        faster still: plotly parses a shape's path again on each pass of its margin fitting (8,500 needles as a
        shape took 0.3 s in the page, as one line 0.03 s)."""
        axes = axes or {}
        self.layout["shapes"].append({
            "type": "path", "path": _segment_path(np.asarray(x, float), np.asarray(y, float)),
            "xref": axes.get("xaxis", "x"), "yref": axes.get("yaxis", "y"), "layer": "below", "opacity": opacity,
            "line": {"color": colour, "width": width, "dash": dash}, "legendgroup": legendgroup, "showlegend": False})
        self.trace(type="scatter", x=[None], y=[None], mode="lines", name=name, showlegend=showlegend,
                   legendgroup=legendgroup, line={"color": colour, "width": max(width, 1.2), "dash": dash}, opacity=0.6,
                   hoverinfo="skip", **axes)
        self.trace(type="scatter", x=x, y=y, mode="none", name=name, showlegend=False, legendgroup=legendgroup,
                   customdata=customdata, hovertemplate=hovertemplate, hoveron="points", hoverlabel={"bgcolor": colour},
                   **axes)

    def vline(self, x=0, xref="x", yref="y domain", width=1.5):
        self.layout["shapes"].append({"type": "line", "x0": x, "x1": x, "xref": xref, "y0": 0, "y1": 1, "yref": yref,
                                      "line": {"color": "#555", "width": width, "dash": "dash"}})

    def hline(self, y, colour="#777", width=1.0, dash="solid", xref="x domain", yref="y"):
        self.layout["shapes"].append({"type": "line", "y0": y, "y1": y, "yref": yref, "x0": 0, "x1": 1, "xref": xref,
                                      "line": {"color": colour, "width": width, "dash": dash}})

    def note(self, text, x, y, xref="paper", yref="paper", xanchor="left", yanchor="top", size=11, colour="#333",
             xshift=0):
        self.layout["annotations"].append({"text": text, "x": x, "y": y, "xref": xref, "yref": yref, "showarrow": False,
                                           "xanchor": xanchor, "yanchor": yanchor, "xshift": xshift,
                                           "font": {"size": size, "color": colour}})

    def figure(self, title: str, n=None, simulated=None, x_title=None, y_title=None, height=420, summary: str = "",
               title_style: dict | None = None, **layout) -> go.Figure:
        lay = self.layout
        lay.update(
            title={"text": title_text(title, n, simulated), "x": 0.01, "xanchor": "left", **(title_style or {})},
            template=_template(),
            font={"family": FONT, "size": BASE_FONT, "color": "#222"},
            margin={"l": LEFT_MARGIN + Y_TITLE_LINE_PX * (y_title or "").count("<br>"), "r": 24,
                    "t": 76 if simulated else 56, "b": 110},
            height=height,
            hoverlabel={"namelength": -1},
            # legend under the x-axis title, so it never covers the title or the data
            legend={"orientation": "h", "yanchor": "top", "y": -0.2, "xanchor": "left", "x": 0},
            meta={"n": n, "simulated": simulated or "", "summary": summary},
        )
        if x_title:
            lay["xaxis"].setdefault("title", {"text": x_title})
        if y_title:
            lay["yaxis"].setdefault("title", {"text": y_title})
        for key, value in layout.items():
            if isinstance(value, dict) and isinstance(lay.get(key), dict):
                lay[key] = {**lay[key], **value}
            else:
                lay[key] = value
        _legend_below(lay, BASE_FONT)
        return go.Figure({"data": self.data, "layout": lay}, _validate=False)


def _legend_below(lay: dict, font: float) -> None:
    """A legend under the plot (horizontal, y < 0) placed a fixed number of pixels under it, below the tick
    labels and the x-axis title: as a share of the plot's height (-0.2), it ran into the title of a short plot."""
    legend, margin = lay.get("legend") or {}, lay.get("margin") or {}
    if legend.get("orientation") != "h" or not (legend.get("y") or 0) < 0 or legend.get("yref") not in (None, "paper"):
        return
    plot = (lay.get("height") or 450) - margin.get("t", 100) - margin.get("b", 80)
    lay["legend"] = {**legend, "y": -min(0.6, LEGEND_GAP * font / max(plot, 1))}


def validate(fig: go.Figure) -> go.Figure:
    """The same figure through plotly.py's validators (raises on an unknown property); for tests."""
    return go.Figure(fig.to_plotly_json())


def message_figure(message: str, title: str = "", height: int = 320, wrap: int | None = None) -> go.Figure:
    """An empty figure that says why there is nothing to draw (``wrap``: break the message into lines of
    about that many characters)."""
    s = _Spec()
    text = "<br>".join(textwrap.wrap(message, wrap)) if wrap else message
    s.note(text, 0.5, 0.5, xanchor="center", yanchor="middle", size=16, colour="#444")
    return s.figure(title or message, height=height, summary=message,
                    xaxis={"visible": False}, yaxis={"visible": False})


def text_array(values) -> np.ndarray:
    """Strings as a fixed-width numpy array, missing values as "".

    plotly deep-copies every array of a figure: an object array costs a Python
    call per element, a fixed-width one a single memory copy.
    """
    a = np.asarray(values, dtype=object)
    if a.size == 0:
        return a.astype(str)
    return np.where(pd.isna(a), "", a).astype(str)


def _str_values(col: pd.Series) -> np.ndarray:
    """A column's values as a fixed-width string array (a categorical one through its categories)."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        cats = text_array(col.cat.categories.to_numpy(dtype=object))
        return cats[col.cat.codes.to_numpy()] if len(cats) else np.array([""] * len(col), dtype=str)
    return text_array(col.to_numpy(dtype=object))


def _patient_codes(df: pd.DataFrame) -> np.ndarray:
    """One integer per row, equal for the rows of one patient (a categorical id's codes as they are)."""
    pid = df["patient_id"]
    return pid.cat.codes.to_numpy() if isinstance(pid.dtype, pd.CategoricalDtype) else pd.factorize(pid, sort=False)[0]


def _segments(x0, y0, x1, y1, label) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Line segments (x0, y0)-(x1, y1) as one trace's x, y and customdata: a NaN gap after each segment,
    its label on both ends."""
    k = len(x0)
    xs, ys = np.full(3 * k, np.nan), np.full(3 * k, np.nan)
    xs[0::3], ys[0::3], xs[1::3], ys[1::3] = x0, y0, x1, y1
    label = text_array(label)
    cd = np.full(3 * k, "", dtype=label.dtype)
    cd[0::3], cd[1::3] = label, label
    return xs, ys, cd


def _gapped(df: pd.DataFrame, x: str, y: str, extra: list[str]) -> dict[str, np.ndarray]:
    """Concatenate patients' series with a NaN row between patients (df sorted by patient, x)."""
    n = len(df)
    if n == 0:
        return {x: np.array([]), y: np.array([]), **{e: np.array([], dtype=str) for e in extra}}
    pid = _patient_codes(df)
    breaks = np.flatnonzero(pid[1:] != pid[:-1]) + 1
    pos = np.arange(n) + np.searchsorted(breaks, np.arange(n), side="right")
    size = n + len(breaks)
    out = {}
    for col in (x, y):
        arr = np.full(size, np.nan)
        arr[pos] = df[col].to_numpy(dtype=float)
        out[col] = arr
    for col in extra:
        vals = _str_values(df[col])
        arr = np.full(size, "", dtype=vals.dtype)
        arr[pos] = vals
        out[col] = arr
    return out


def _segment_path(x: np.ndarray, y: np.ndarray) -> str:
    """Segments given as x and y with a NaN gap after each (as :func:`_segments` makes them) as one SVG path
    ("M x0,y0 L x1,y1 M ..."), for :meth:`_Spec.segments`."""
    # to 3 decimals (a thousandth of a month or point is far below a pixel), through Python's own float repr:
    # the fastest way to 100,000 numbers' text (about 50 ms; "%g" formatting twice that)
    cols = [list(map(str, np.round(v, PATH_DECIMALS).tolist())) for v in (x[0::3], y[0::3], x[1::3], y[1::3])]
    return "".join([f"M{a},{b}L{c},{d}" for a, b, c, d in zip(*cols)])


def _distinct_segments(df: pd.DataFrame, x: str, y: str) -> dict[str, np.ndarray]:
    """The segments joining each patient's consecutive values (df sorted by patient, x), each distinct one once,
    as x and y arrays with a NaN gap after every segment; ``label`` names a patient on the segment and how many
    others share it ("17", "17 and 412 others"), in the order the segments first occur."""
    codes = _patient_codes(df)
    xv, yv = df[x].to_numpy(dtype=float), df[y].to_numpy(dtype=float)
    joined = np.flatnonzero(codes[1:] == codes[:-1]) if len(df) > 1 else np.array([], dtype=int)
    seg = np.stack([xv[joined], yv[joined], xv[joined + 1], yv[joined + 1]], axis=1)
    if len(seg) == 0:
        return {x: np.array([]), y: np.array([]), "label": np.array([], dtype=str)}
    # each distinct segment's first row and count, in the order they first occur (hashing the four columns:
    # np.unique(axis=0) sorts them, 70 ms of a 10,000-patient plot)
    group = pd.DataFrame(seg).groupby([0, 1, 2, 3], sort=False, dropna=False).ngroup().to_numpy()
    _u, first, counts = np.unique(group, return_index=True, return_counts=True)
    ids = _str_values(df["patient_id"])[joined[first]]
    others = np.char.add(np.char.add(" and ", (counts - 1).astype(str)), np.where(counts == 2, " other", " others"))
    xs, ys, labels = _segments(*seg[first].T, np.where(counts > 1, np.char.add(ids, others), ids))
    return {x: xs, y: ys, "label": labels}


def _group_order(groups: pd.Series, styles: dict[str, GroupStyle]) -> list[str]:
    """The colour groups present, in drawing order."""
    present = set(groups.unique())
    return [g for g in styles if g in present]


def _padded_range(values: pd.Series, spec) -> list[float]:
    if len(values) == 0:
        return [spec.low, spec.high]
    lo, hi = float(values.min()), float(values.max())
    pad = max(1.0, 0.06 * (hi - lo))
    return [max(spec.low - pad * 0.2, lo - pad), min(spec.high + pad * 0.2, hi + pad)]


def _spaghetti_traces(s: _Spec, meas: pd.DataFrame, measure: str, groups: dict[str, str], summaries, highlight, fits,
                      axes: dict | None = None, show_legend: bool = True,
                      large: bool | None = None,
                      styles: dict[str, GroupStyle] | None = None) -> tuple[int, pd.DataFrame]:
    """Add the spaghetti traces of one measure to ``s``; return (patients drawn, the rows drawn).

    ``large`` (default: more than LARGE_THRESHOLD rows of the measure): lines only, each distinct segment once.
    """
    spec = MEASURES[measure]
    st = _styles(styles)
    axes = axes or {}
    m = meas[meas["measure"] == measure]
    # (numpy, one assign: each pandas step costs about 0.2 ms, and the weakness grid does this for four limbs)
    g_of = m["patient_id"].map(groups)
    m = m.assign(group=np.where(g_of.isna().to_numpy(), "all", g_of.to_numpy(dtype=object)),
                 src=np.where(m["simulated"].to_numpy(dtype=bool), "simulated", "observed"))
    m = m.sort_values(["patient_id", "month"], kind="stable")
    group_order = _group_order(m["group"], st)
    large = len(m) > LARGE_THRESHOLD if large is None else large
    for g in group_order:
        d = m[m["group"] == g]
        if large:
            # the distinct segments, each once: one path drawn at one opacity, so a segment drawn again on
            # itself changes no pixel, and the browser draws 10,000 patients in well under a second
            arr = _distinct_segments(d, "month", "value")
            customdata = arr["label"]
            hover = (f"Patient %{{customdata}}<br>Month %{{x:.2f}}<br>{spec.label}: %{{y}} {spec.unit}"
                     f"<extra>{st[g].label}</extra>")
        else:
            arr = _gapped(d, "month", "value", ["patient_id", "src"])
            customdata = np.stack([arr["patient_id"], arr["src"]], axis=-1)
            hover = (f"Patient %{{customdata[0]}}<br>Month %{{x:.2f}}<br>{spec.label}: %{{y}} {spec.unit}"
                     f"<br>%{{customdata[1]}}<extra>{st[g].label}</extra>")
        name = f"{st[g].label} (n = {d['patient_id'].nunique()})"
        if large:
            s.segments(arr["month"], arr["value"], name=name, colour=st[g].colour, width=0.6, opacity=0.3,
                       legendgroup=g, customdata=customdata, hovertemplate=hover, showlegend=show_legend, axes=axes)
            continue
        # lines only: a marker is an SVG node of its own, the most of a small plot's drawing (the weakness grid's
        # 460 values: 86 ms with markers, 38 without); the lines' vertices are the visits, and hover names them
        s.trace(
            type="scatter", x=arr["month"], y=arr["value"], mode="lines", name=name, showlegend=show_legend,
            customdata=customdata, line={"color": st[g].colour, "width": 1.2}, opacity=0.55, connectgaps=False,
            legendgroup=g, hovertemplate=hover, **axes,
        )
        # ... but a patient with a single value has no line: a marker of its own, so that no one is left out
        codes = _patient_codes(d)  # (d is sorted by patient: a count per code, not a groupby)
        alone = d[np.bincount(codes)[codes] == 1] if len(d) else d
        if len(alone):
            s.trace(type="scatter", x=alone["month"].to_numpy(float), y=alone["value"].to_numpy(float),
                    mode="markers", name=f"{st[g].label}, single values", showlegend=False, legendgroup=g,
                    customdata=np.stack([alone["patient_id"].astype(str).to_numpy(object),
                                         alone["src"].to_numpy(object)], axis=-1),
                    marker={"size": 5, "color": st[g].colour}, opacity=0.55, hovertemplate=hover, **axes)
    if fits is not None and len(fits):
        for g in group_order:
            f = fits[fits["group"] == g]
            if f.empty:
                continue
            labels = (f["patient_id"].astype(str) + " (" + f["period"] + " slope "
                      + f["slope"].map("{:+.2f}".format) + "/month)").to_numpy(object)
            xs, ys, cd = _segments(f["x0"].to_numpy(float), f["y0"].to_numpy(float), f["x1"].to_numpy(float),
                                   f["y1"].to_numpy(float), labels)
            if large:
                s.segments(xs, ys, name=f"Fitted slopes, {st[g].label.lower()}", colour=st[g].colour, width=1.2,
                           opacity=0.6, legendgroup=g, customdata=cd, hovertemplate="Patient %{customdata}"
                           "<extra>OLS fit</extra>", showlegend=show_legend, axes=axes, dash="dot")
                continue
            s.trace(type="scatter", x=xs, y=ys, mode="lines", name=f"Fitted slopes, {st[g].label.lower()}",
                    legendgroup=g,
                    line={"color": st[g].colour, "width": 2.2, "dash": "dot"}, customdata=cd, connectgaps=False,
                    hovertemplate="Patient %{customdata}<extra>OLS fit</extra>", showlegend=show_legend, **axes)
    if summaries is not None and len(summaries):
        for g in group_order:
            sm = summaries[summaries["group"] == g].sort_values("month")
            if sm.empty:
                continue
            colour = BLUE if g == "all" else st[g].colour
            sem = sm["sem"].astype(float).to_numpy()
            s.trace(
                type="scatter", x=sm["month"].to_numpy(float), y=sm["mean"].astype(float).to_numpy(),
                mode="lines+markers",
                name="Mean ± SEM" if g == "all" else f"Mean ± SEM, {st[g].label.lower()}", showlegend=show_legend,
                line={"color": colour, "width": 4},
                marker={"size": 9, "symbol": "diamond", "color": colour, "line": {"color": "white", "width": 1}},
                error_y={"type": "data", "array": np.nan_to_num(sem), "visible": True, "color": colour, "thickness": 2,
                         "width": 6},
                # a nested list, not a 2-D float array (plotly.js drops a 2-D typed array from click events)
                customdata=[[int(k), None if np.isnan(e) else float(e)] for k, e in zip(sm["n"].to_numpy(), sem)],
                legendgroup=g,
                hovertemplate=(f"Month %{{x:.2f}}<br>mean {spec.label}: %{{y:.1f}} ± %{{customdata[1]:.2f}} (SEM)"
                               f"<br>n = %{{customdata[0]}}<extra>{st[g].label}</extra>"),
                **axes,
            )
    if highlight is not None:
        h = m[m["patient_id"] == highlight]
        if len(h):
            s.trace(
                type="scatter", x=h["month"].to_numpy(float), y=h["value"].to_numpy(float), mode="lines+markers",
                name=f"Patient {highlight}", showlegend=show_legend,
                line={"color": HIGHLIGHT_COLOUR, "width": 4},
                marker={"size": 10, "symbol": "circle", "line": {"color": "white", "width": 1.5}},
                customdata=np.stack([h["patient_id"].astype(object).to_numpy(), h["src"].astype(object).to_numpy()],
                                    axis=-1),
                hovertemplate=(f"Patient %{{customdata[0]}} (highlighted)<br>Month %{{x:.2f}}<br>{spec.label}: %{{y}} "
                               f"{spec.unit}<br>%{{customdata[1]}}<extra></extra>"),
                **axes,
            )
    return int(m["patient_id"].nunique()), m


def spaghetti(
    meas: pd.DataFrame,
    measure: str,
    groups: dict[str, str],
    summaries: pd.DataFrame | None = None,
    highlight: str | None = None,
    fits: pd.DataFrame | None = None,
    title: str | None = None,
    simulated: str | None = None,
    reference: float | None = None,
    reference_label: str = "",
    show_legend: bool = True,
    time: TimeWords = NEUTRAL_TIME,
    styles: dict[str, GroupStyle] | None = None,
) -> go.Figure:
    """Each patient's values of ``measure`` over months from day 0 (``time``: what day 0 is called).

    ``meas``: the measure's rows for the selected patients.  ``groups``:
    patient id -> group ("progressor", "stable" or "all").  ``summaries``:
    per group and visit mean and SEM (columns group, month, mean, sem, n).
    ``fits``: per patient fitted segments (columns patient_id, group,
    x0, y0, x1, y1, period, slope).
    """
    spec = MEASURES[measure]
    s = _Spec()
    n_patients, m = _spaghetti_traces(s, meas, measure, groups, summaries, highlight, fits, show_legend=show_legend,
                                      styles=styles)
    s.vline(0)
    s.note(plain_text(time.day0), 0, 1, xref="x", xshift=4)
    if reference is not None:
        s.hline(reference, colour=GREEN, width=2, dash="dashdot")
        s.note(reference_label or f"{reference:g}", 0, reference, yref="y", size=11, colour=GREEN)
    summary = (f"{spec.label} ({spec.unit}) of {n_patients} patients against {time.since}, "
               "one line per patient"
               + ("; thick lines: mean ± SEM per visit" if summaries is not None and len(summaries) else "")
               + (f"; patient {highlight} highlighted" if highlight else "") + ".")
    return s.figure(title or f"{spec.label} over time", n=n_patients, simulated=simulated, summary=summary,
                    x_title=plain_text(time.months), y_title=spec.axis_title,
                    xaxis={"zeroline": False, "dtick": 3},
                    yaxis={"range": _padded_range(m["value"], spec), "zeroline": False},
                    showlegend=show_legend, clickmode="event", uirevision=measure)


def slope_pairs(slopes: pd.DataFrame, window: float, groups: dict[str, str], measure: str = "ALSFRS",
                highlight: str | None = None, simulated: str | None = None,
                styles: dict[str, GroupStyle] | None = None) -> go.Figure:
    """Each patient's pre- and post-treatment slope, joined by a line (as the paper's Figure 1C/D)."""
    st = _styles(styles)
    col = f"post_slope_{window:g}"
    d = with_both_slopes(slopes, window)
    title = f"Pre vs post slope, {MEASURES[measure].label}, 0-{window:g} months"
    if d.empty:
        return message_figure("Not computable: no patient has both a pre- and a post-treatment slope", title)
    s = _Spec()
    xl = ["Before (month ≤ 0)", f"After (0-{window:g} months)"]
    d = d.assign(group=[groups.get(p, "all") for p in d.index])
    large = len(d) > PAIRS_AS_ONE_LINE
    if large:
        values = np.concatenate([d["pre_slope"].to_numpy(float), d[col].to_numpy(float), [0.0]])
        lo, hi = float(values.min()), float(values.max())
        pad = max(0.06 * (hi - lo), 1e-3)
        y_range, y_out = [lo - pad, hi + pad], hi + 10 * (hi - lo + 1)
    hover = "Patient %{customdata[0]}<br>%{customdata[1]}: %{y:+.3f} points/month<extra></extra>"
    for g in _group_order(d["group"], st):
        dg = d[d["group"] == g]
        k = len(dg)
        pre, post = dg["pre_slope"].to_numpy(float), dg[col].to_numpy(float)
        pids = text_array(dg.index.to_numpy(dtype=object))
        if large:
            # one unbroken line, so one SVG path (a line broken by gaps is a path per piece: 10,000 pairs took
            # 1.2-2 s to draw): from each pair it leaves the plot to the right, passes above it and comes back
            # from the left to the next pair's start, on an x axis whose range is exactly the two slopes (0-1)
            # so that plotly clips every piece but the pairs themselves
            xs = np.tile([0.0, 1.0, 1.5, 1.5, -0.5, -0.5], k)[:-4]
            out = np.full(k, y_out)
            ys = np.stack([pre, post, post, out, out, np.roll(pre, -1)], axis=-1).ravel()[:-4]
            where = np.tile(np.array(xl + ["", "", "", ""]), k)[:-4]
            cd = np.stack([np.repeat(pids, 6)[:-4], where], axis=-1)
            s.trace(type="scatter", x=xs, y=ys, mode="lines", name=f"{st[g].label} (n = {k})", xaxis="x2",
                    customdata=cd, line={"color": st[g].colour, "width": 0.8}, opacity=0.35, hovertemplate=hover)
            continue
        # x: 0 = before, 1 = after (numbers, so each patient's pair is split from the next by a NaN gap)
        xs = np.tile([0.0, 1.0, np.nan], k)
        ys = np.full(3 * k, np.nan)
        ys[0::3], ys[1::3] = pre, post
        cd = np.stack([np.repeat(pids, 3), np.tile(np.array(xl + [""]), k)], axis=-1)
        s.trace(type="scatter", x=xs, y=ys, mode="lines+markers", name=f"{st[g].label} (n = {k})",
                customdata=cd, connectgaps=False, line={"color": st[g].colour, "width": 1.5},
                marker={"size": 8, "color": st[g].colour}, opacity=0.75, hovertemplate=hover)
    if highlight is not None and highlight in d.index:
        r = d.loc[highlight]
        # on the pairs' own axis where they have one, so that it is drawn over them (markers not cut at its ends)
        s.trace(type="scatter", x=[0.0, 1.0], y=[float(r["pre_slope"]), float(r[col])], mode="lines+markers",
                name=f"Patient {highlight}", **({"xaxis": "x2", "cliponaxis": False} if large else {}),
                line={"color": HIGHLIGHT_COLOUR, "width": 4}, marker={"size": 11},
                customdata=[[highlight, xl[0]], [highlight, xl[1]]],
                hovertemplate=("Patient %{customdata[0]} (highlighted)<br>%{customdata[1]}: %{y:+.3f} points/month"
                               "<extra></extra>"))
    s.layout["xaxis"] = {"tickmode": "array", "tickvals": [0, 1], "ticktext": xl, "range": [-0.25, 1.25],
                         "zeroline": False}
    if large:
        # the plot's own axes carry the ticks and the zero line: a trace of no points keeps them drawn
        s.trace(type="scatter", x=[0.0, 1.0], y=[None, None], mode="lines", showlegend=False, hoverinfo="skip")
        # the pairs' own x axis: 0-1 over the part of the plot where x's 0-1 is (x's range is -0.25-1.25)
        s.layout["xaxis2"] = {"domain": [0.25 / 1.5, 1.25 / 1.5], "range": [0, 1], "visible": False, "anchor": "y",
                              "fixedrange": True}
        s.layout["yaxis"] = {**s.layout.get("yaxis", {}), "range": y_range}
    s.hline(0)
    # on two lines: as one, it was longer than a two-column plot is high and ran into the figure title
    y_title = f"Slope<br>({MEASURES[measure].label} points/month)"
    summary = (f"Each of {len(d)} patients' OLS slope before day 0 and 0-{window:g} months after, joined by a line; "
               f"mean before {d['pre_slope'].mean():+.2f}, after {d[col].mean():+.2f} points/month.")
    return s.figure(title, n=len(d), simulated=simulated, y_title=y_title,
                    summary=summary, clickmode="event")


def waterfall(slopes: pd.DataFrame, window: float, groups: dict[str, str], measure: str = "ALSFRS",
              highlight: str | None = None, simulated: str | None = None,
              styles: dict[str, GroupStyle] | None = None) -> go.Figure:
    """Each patient's slope change (post minus pre), sorted: bars above 0 = slower decline after day 0."""
    st = _styles(styles)
    col = f"post_slope_{window:g}"
    d = with_both_slopes(slopes, window)
    title = f"Change in slope per patient, 0-{window:g} months"
    if d.empty:
        return message_figure("Not computable: no patient has both a pre- and a post-treatment slope", title)
    d = d.assign(change=d[col] - d["pre_slope"],
                 group=[groups.get(p, "all") for p in d.index]).sort_values("change", ascending=False)
    needles = len(d) > WATERFALL_BARS
    summary = (f"{'Lines from zero' if needles else 'Bars'}: each of {len(d)} patients' post minus pre slope, sorted; "
               f"{int((d['change'] > 0).sum())} above zero (slower decline after day 0), "
               f"{int((d['change'] < 0).sum())} below.")
    # on two lines: as one, it was longer than the plot is high and ran into the figure title
    y_title = f"Post − pre slope<br>({MEASURES[measure].label} points/month)"
    if needles:
        return _needles(d, highlight, title, st, n=len(d), simulated=simulated, x_title="Patient (sorted by change)",
                        summary=summary, y_title=y_title)
    s = _Spec()
    colours = [HIGHLIGHT_COLOUR if p == highlight else st[g].colour for p, g in zip(d.index, d["group"])]
    s.trace(type="bar", x=text_array(("P" + d.index.astype(str)).to_numpy(dtype=object)), y=d["change"].to_numpy(float),
            marker={"color": colours,
                    "line": {"color": ["#000" if p == highlight else "rgba(0,0,0,0)" for p in d.index], "width": 2}},
            customdata=np.stack([d.index.to_numpy(dtype=object),
                                 d["group"].map(lambda g: st[g].label).to_numpy(dtype=object)], axis=-1),
            hovertemplate=("Patient %{customdata[0]} (%{customdata[1]})<br>slope change %{y:+.3f} points/month"
                           "<extra></extra>"),
            showlegend=False)
    for g in _group_order(d["group"], st):
        s.trace(type="bar", x=[None], y=[None], marker={"color": st[g].colour}, name=st[g].label,
                hoverinfo="skip")
    s.hline(0, colour="#444")
    return s.figure(title, n=len(d), simulated=simulated, x_title="Patient (sorted by change)", summary=summary,
                    y_title=y_title,
                    xaxis={"type": "category", "tickangle": -90 if len(d) > 10 else 0, "showticklabels": len(d) <= 80,
                           "tickfont": {"size": 11}},
                    clickmode="event", bargap=0.15)


def _grid_axes(rows: int, cols: int, vspace: float, hspace: float, share_y: bool = True) -> tuple[dict, list[dict]]:
    """Layout axes of a rows x cols grid (all x axes shared; y axes shared if ``share_y``), and each cell's
    axis refs."""
    lay, cells = {}, []
    w = (1 - hspace * (cols - 1)) / cols
    h = (1 - vspace * (rows - 1)) / rows
    for r in range(rows):
        for c in range(cols):
            i = r * cols + c + 1
            sfx = "" if i == 1 else str(i)
            x0 = c * (w + hspace)
            y1 = 1 - r * (h + vspace)
            x0, y1 = round(max(0.0, x0), 6), round(min(1.0, y1), 6)
            lay[f"xaxis{sfx}"] = {"domain": [x0, round(min(1.0, x0 + w), 6)], "anchor": f"y{sfx}",
                                  "matches": "x" if i > 1 else None,
                                  "showticklabels": r == rows - 1}
            lay[f"yaxis{sfx}"] = {"domain": [round(max(0.0, y1 - h), 6), y1], "anchor": f"x{sfx}",
                                  "matches": "y" if i > 1 and share_y else None,
                                  "showticklabels": c == 0}
            cells.append({"xaxis": f"x{sfx}", "yaxis": f"y{sfx}", "domain": (x0, x0 + w, y1 - h, y1)})
    for ax in lay.values():
        if ax["matches"] is None:
            del ax["matches"]
    return lay, cells


def _needles(d: pd.DataFrame, highlight: str | None, title: str, st: dict[str, GroupStyle], **figure) -> go.Figure:
    """A waterfall of many patients: per group one line trace of vertical needles from 0 to each change
    (x = rank), which the browser draws far faster than thousands of bars.

    The needles are one unbroken line, (rank, 0) -> (rank, change) -> (rank, 0) -> the next rank along the zero
    line (drawn there anyway): plotly makes an SVG path of every piece between gaps, and 10,000 needles split by
    gaps took 1.1 s to draw, as one line 0.1 s."""
    s = _Spec()
    rank = np.arange(len(d), dtype=float)
    for g in _group_order(d["group"], st):
        at = (d["group"] == g).to_numpy()
        change = d["change"].to_numpy(float)[at]
        label = text_array([f"{p}: slope change {c:+.3f}" for p, c in zip(d.index[at], change)])
        xs, ys = np.repeat(rank[at], 3), np.zeros(3 * len(change))
        ys[1::3] = change
        cd = np.repeat(label, 3)
        s.trace(type="scatter", x=xs, y=ys, mode="lines", name=f"{st[g].label} (n = {int(at.sum())})",
                customdata=cd, connectgaps=False,
                line={"color": st[g].colour, "width": 1},
                hovertemplate="Patient %{customdata} points/month<extra></extra>")
    if highlight is not None and highlight in d.index:
        i = float(d.index.get_loc(highlight))
        c = float(d.at[highlight, "change"])
        s.trace(type="scatter", x=[i, i], y=[0.0, c], mode="lines+markers", name=f"Patient {highlight}",
                line={"color": HIGHLIGHT_COLOUR, "width": 3}, marker={"size": 8, "color": HIGHLIGHT_COLOUR},
                customdata=[f"{highlight}: slope change {c:+.3f}"] * 2,
                hovertemplate="Patient %{customdata} points/month (highlighted)<extra></extra>")
    s.hline(0, colour="#444")
    return s.figure(title, xaxis={"showticklabels": False, "zeroline": False}, clickmode="event", **figure)


def ws_grid(meas: pd.DataFrame, groups: dict[str, str], summaries: pd.DataFrame | None,
            highlight: str | None = None, time: TimeWords = NEUTRAL_TIME,
            styles: dict[str, GroupStyle] | None = None) -> go.Figure:
    """Weakness scores of the four limbs as small multiples, with their means."""
    s = _Spec()
    axes, cells = _grid_axes(2, 2, 0.14, 0.06)
    n_patients = int(meas[meas["measure"].isin(WS_MEASURES)]["patient_id"].nunique())
    present = set(meas["measure"])
    for i, (measure, cell) in enumerate(zip(WS_MEASURES, cells)):
        x0, x1, _y0, y1 = cell["domain"]
        s.note(MEASURES[measure].label.replace("Weakness score, ", ""), (x0 + x1) / 2, y1, xanchor="center",
               yanchor="bottom", size=13)
        if measure not in present:
            continue
        sm = summaries[summaries["measure"] == measure] if summaries is not None else None
        # large or not by the points of the whole figure: the browser draws the four panels together
        _spaghetti_traces(s, meas, measure, groups, sm, highlight, None,
                          axes={"xaxis": cell["xaxis"], "yaxis": cell["yaxis"]},
                          show_legend=i == 0, large=len(meas) > LARGE_THRESHOLD, styles=styles)
        s.vline(0, xref=cell["xaxis"], yref=f"{cell['yaxis']} domain", width=1.2)
    for key, ax in axes.items():
        if key.startswith("yaxis"):
            ax.update(range=[-0.2, 5.2], dtick=1)
            if ax.get("showticklabels"):
                ax["title"] = {"text": "WS (0-5)"}
        else:
            ax.update(dtick=3)
            if ax.get("showticklabels"):
                ax["title"] = {"text": plain_text(time.months)}
    s.layout.update(axes)
    return s.figure("Weakness scores by limb (0 = plegia, 5 = normal)", n=n_patients, height=620,
                    summary=(f"Four panels, one per limb: each of {n_patients} patients' weakness score over "
                             f"{time.since}, with the mean ± SEM."),
                    clickmode="event", uirevision="ws")


def ws_mean(summaries: pd.DataFrame, time: TimeWords = NEUTRAL_TIME) -> go.Figure:
    """Mean weakness score of each limb over time (± SEM)."""
    s = _Spec()
    dashes = dict(zip(WS_MEASURES, ("solid", "dash", "solid", "dash")))
    n = 0
    for measure in WS_MEASURES:
        sm = summaries[(summaries["measure"] == measure)].sort_values("month")
        if sm.empty:
            continue
        n = max(n, int(sm["n"].max()))
        s.trace(type="scatter", x=sm["month"].to_numpy(float), y=sm["mean"].astype(float).to_numpy(),
                mode="lines+markers",
                name=MEASURES[measure].label.replace("Weakness score, ", ""),
                line={"color": LIMB_COLOURS[measure], "width": 3, "dash": dashes[measure]},
                error_y={"type": "data", "array": np.nan_to_num(sm["sem"].astype(float).to_numpy()), "visible": True},
                customdata=sm["n"].to_numpy(dtype=float),
                hovertemplate="Month %{x:.2f}: mean %{y:.2f} (n = %{customdata})<extra>%{fullData.name}</extra>")
    s.vline(0, width=1.2)
    return s.figure("Mean weakness score per limb ± SEM", n=n or None, x_title=plain_text(time.months),
                    y_title="Weakness score (0-5)",
                    height=380, summary="The mean weakness score of each limb at each visit, with its SEM.",
                    xaxis={"dtick": 3}, yaxis={"range": [0, 5.2]})


#: What the safety view's "Show only" may keep (in the order the heatmap's title names them).
ONLY_KINDS = ("serious", "related")


def _only_words(only) -> str:
    """("related", "serious") -> "serious and related" (the events kept by the safety view's "Show only")."""
    return " and ".join(o for o in ONLY_KINDS if o in set(only or ()))


def wrap_label(text: str, width: int = 24, max_lines: int = 2) -> str:
    """A tick label on lines of at most ``width`` characters, broken at spaces (``<br>``), at most ``max_lines``
    lines (the rest cut with an ellipsis: the hover text names the whole term)."""
    lines: list[str] = []
    for word in str(text).split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    if len(lines) > max_lines or any(len(line) > width for line in lines):
        lines = lines[:max_lines]
        lines[-1] = lines[-1][:width - 2] + " …"
    return "<br>".join(lines) or str(text)


def term_labels(terms) -> tuple[list[str], int]:
    """The heatmap's column labels and their tick angle (:data:`TERM_LABELS`)."""
    for most, angle, lines, width in TERM_LABELS:
        if most is None or len(terms) <= most:
            return [wrap_label(t, width, lines) for t in terms], angle
    raise AssertionError("unreachable")  # pragma: no cover


def _label_block(ticktext, font: float, angle: float) -> float:
    """The height in pixels of rotated multi-line tick labels (a generous estimate: automargin does the rest)."""
    lines = [str(t).split("<br>") for t in ticktext] or [[""]]
    chars = max(len(line) for ls in lines for line in ls)
    n_lines = max(len(ls) for ls in lines)
    a = np.radians(abs(angle))
    return chars * 0.62 * font * np.sin(a) + n_lines * 1.3 * font * np.cos(a) + 10


def _reserve_title(axis: dict, title_size: float) -> None:
    """Room for the figure title above a top-side axis's tick labels.

    The title is pinned to the top of the figure; the axis gets an empty title of the title's height, which
    plotly's automargin stacks above the tick labels: the labels never reach the title, however long they
    are, and no blank band is left between them."""
    axis["title"] = {"text": "&nbsp;", "standoff": 0, "font": {"size": title_size + TITLE_RESERVE_PAD}}


def heatmap_geometry(n_rows: int, ticktext, angle: float, levels: int, font: float, title_size: float,
                     row_px: float) -> tuple[int, int]:
    """(figure height, colour bar length) of an adverse-event heatmap: rows of ``row_px`` pixels under the title
    and the term labels, and a plot at least as tall as the colour bar, whose labels (``levels`` of them, at
    ``font`` pixels) never overprint."""
    colorbar = round(levels * 1.9 * font)
    top = 1.3 * (title_size + TITLE_RESERVE_PAD) + _label_block(ticktext, font, angle)
    plot = max(n_rows * row_px, colorbar + 3 * font)
    return min(round(top + plot + HEATMAP_BOTTOM), HEATMAP_MAX_HEIGHT + 120), colorbar


def ae_heatmap(ae: pd.DataFrame, patients: pd.DataFrame, colour_by: str = "severity",
               highlight: str | None = None, only=(), group_of: dict[str, str] | None = None,
               level: str = "term") -> go.Figure:
    """Patients (rows) by event terms (columns), coloured by the worst severity, seriousness or relatedness.

    ``patients``: the selected patients (patient_id column) in row order.  Rows:
    the patients with events, worst severity first, then most events.  ``only``: what ``ae`` was narrowed
    to ("serious", "related": the safety view's "Show only"), said in the title and the notes.
    ``group_of``: patient -> group label, in the groups' display order: the rows are sorted by group
    first, each row names its group, and a line separates the groups.
    """
    kept = _only_words(only)
    events = f"{kept} events" if kept else "events"
    title = {"severity": "Adverse events by patient and term: worst severity",
             "serious": "Adverse events by patient and term: seriousness",
             "related": "Adverse events by patient and term: relationship to the cell product"}[colour_by]
    if level != "term":  # the columns are preferred terms or body systems (the safety view's "level")
        title = title.replace("and term", f"and {level}")
    if kept:
        title += f", {kept} events only"
    if patients.empty:
        return message_figure("No patients match the current filters", title)
    sel = patients["patient_id"].astype(str).tolist()
    a = ae[ae["patient_id"].isin(sel)]
    if a.empty:
        return message_figure(f"No {'adverse' if not kept else kept} events in the {len(sel)} selected patients",
                              title)
    # a severity not recorded ranks below Mild (its own level, shown only where some event has it)
    sev_nr = bool(a["severity"].isna().any())
    sev_rank = {sv: i + 1 + sev_nr for i, sv in enumerate(SEVERITIES)}
    a = a.assign(patient_id=a["patient_id"].astype(str).astype(object),
                 sev=a["severity"].map(sev_rank).astype("Float64").fillna(1).astype(int))
    terms = a.groupby("term")["patient_id"].nunique().sort_values(ascending=False, kind="stable")
    term_list = list(terms.index)
    # rows: worst severity first, then most events, then the patients' own order
    by_patient = a.groupby("patient_id")["sev"]  # (two reductions: a named .agg() costs several times as much)
    per_patient = pd.DataFrame({"worst": by_patient.max(), "events": by_patient.size()})
    rank = pd.Series(np.arange(len(sel)), index=pd.Index(sel, dtype=object), name="rank")
    per_patient = per_patient.join(rank, how="inner")
    group_rank = {g: i for i, g in enumerate(dict.fromkeys((group_of or {}).values()))}
    per_patient["group"] = [group_rank.get((group_of or {}).get(p), -1) for p in per_patient.index]
    per_patient = per_patient.sort_values(["group", "worst", "events", "rank"], ascending=[True, False, False, True])
    order = per_patient.index.tolist()
    if colour_by == "severity":
        cell = a.groupby(["patient_id", "term"])["sev"].max()
        levels, colours = list(SEVERITY_LEVELS), list(SEVERITY_COLOURS)
        if sev_nr:
            levels[1:1], colours[1:1] = ["not recorded"], [NOT_RECORDED_COLOUR]
    else:
        # no = 1, (not recorded = 2), yes = last: a cell is "yes" if any event is, "not recorded" if any is
        word, colour = ("serious", VERMILLION) if colour_by == "serious" else ("related", ORANGE)
        nr = bool(a[colour_by].isna().any())
        code = a[colour_by].astype("Float64").map({0.0: 1, 1.0: 2 + nr}).fillna(2)
        cell = a.assign(_c=code.astype(int)).groupby(["patient_id", "term"])["_c"].max()
        levels = ["none", f"not {word}"] + (["not recorded"] if nr else []) + [word]
        colours = ["#F2F2F2", SKY] + ([NOT_RECORDED_COLOUR] if nr else []) + [colour]
    z = cell.unstack("term").reindex(index=order, columns=term_list).fillna(0).to_numpy()

    def yes(col, word):
        v = a[col]
        return np.where(v.isna().to_numpy(), f"{word}: not recorded",
                        np.where(v.fillna(False).to_numpy(dtype=bool), word, "not " + word)).astype(object)

    duration = np.where(a["ongoing"].to_numpy(dtype=bool), "ongoing (persistent)",
                        np.where(a["duration_days"].isna(), "duration not given",
                                 a["duration_days"].astype("Float64").map("{:.0f} days".format,
                                                                          na_action="ignore").astype(object)))
    desc = (a["severity"].astype(object).where(a["severity"].notna(), "severity not recorded")
            .astype(str).to_numpy(dtype=object) + ", " + yes("serious", "serious") + ", "
            + yes("related", "related")
            + "; action: " + a["action"].astype(object).where(a["action"].notna(), "not given")
            .map(plain_text).to_numpy(dtype=object)
            + "; " + duration.astype(object))
    # one line per event of a cell; most cells hold one event, and a join per cell in pandas took 0.1 s at 10,000
    # patients: only the cells of several events are joined
    # (placed by position: a cell of one event takes its text as it is, without an index built for it)
    row_index, col_index = pd.Index(order), pd.Index(term_list)
    several = a.duplicated(["patient_id", "term"], keep=False).to_numpy()
    text = np.full(z.shape, f"no {events[:-1]}", dtype=object)  # made a fixed-width array by _Spec.trace
    one = ~several
    text[row_index.get_indexer(a["patient_id"][one]), col_index.get_indexer(a["term"][one])] = desc[one]
    if several.any():
        joined = (a.loc[several, ["patient_id", "term"]].assign(desc=desc[several])
                  .groupby(["patient_id", "term"], observed=True)["desc"].agg("<br>".join))
        text[row_index.get_indexer(joined.index.get_level_values(0)),
             col_index.get_indexer(joined.index.get_level_values(1))] = joined.to_numpy(dtype=object)
    pos_p = {p: i for i, p in enumerate(order)}
    k = len(levels)
    scale = []
    for i, c in enumerate(colours):
        scale += [[i / k, c], [(i + 1) / k, c]]
    s = _Spec()
    row_ids = text_array(np.asarray(order, dtype=object))
    # many rows (a large trial): thin rows without labels or gaps, in a figure of bounded height
    many = len(order) > HEATMAP_LABELLED_ROWS
    row_px = min(HEATMAP_ROW_PX, HEATMAP_MAX_HEIGHT / len(order)) if many else HEATMAP_ROW_PX
    # the terms as text (dataset text is untrusted: no live markup), and their labels from that text
    shown = plain_texts(term_list)
    ticktext, angle = term_labels(shown)
    # more columns than labels fit side by side: every step-th column labelled (hover names each), so that
    # no label overprints its neighbour
    step = -(-len(shown) // HEATMAP_LABELLED_TERMS)
    tickvals = shown[::step]
    ticktext = ticktext[::step]
    height, colorbar = heatmap_geometry(len(order), ticktext, angle, k, BASE_FONT, TITLE_SIZE, row_px)
    row_labels = np.char.add("Patient ", row_ids)
    if group_of:
        row_labels = np.char.add(row_labels, text_array(np.asarray(
            [f" ({plain_text(group_of.get(p, ''))})" for p in order], dtype=object)))
        bounds = np.flatnonzero(np.diff(per_patient["group"].to_numpy())) + 0.5
        for y in bounds:
            s.layout["shapes"].append({"type": "line", "x0": -0.5, "x1": len(term_list) - 0.5, "y0": y, "y1": y,
                                       "xref": "x", "yref": "y", "line": {"color": "#222", "width": 2}})
    s.trace(type="heatmap", z=z, x=shown, y=row_labels, zmin=-0.5, zmax=k - 0.5,
            colorscale=scale,
            xgap=1 if many else 2, ygap=0 if many else 2,
            customdata=np.repeat(row_ids[:, None], len(term_list), axis=1), text=text,
            hovertemplate="%{y} · %{x}<br>%{text}<extra></extra>",
            colorbar={"tickvals": list(range(k)), "ticktext": levels, "title": {"text": colour_by}, "thickness": 14,
                      "lenmode": "pixels", "len": colorbar, "y": 0.5, "yanchor": "middle"})
    if highlight in pos_p:
        i = pos_p[highlight]
        s.layout["shapes"].append({"type": "rect", "x0": -0.5, "x1": len(term_list) - 0.5, "y0": i - 0.5, "y1": i + 0.5,
                                   "xref": "x", "yref": "y", "line": {"color": HIGHLIGHT_COLOUR, "width": 3}})
    n_without = len(sel) - len(order)
    note = sub = (f"{len(order)} patients with {events} shown; {n_without} selected patients without "
                  f"{'a ' + kept + ' event' if kept else 'any event'} not shown")
    if many:
        sub += f"; {len(order)} rows are too many to label: hover a row to name its patient"
    if step > 1:
        sub += f"; every {step}th of the {len(shown)} columns is labelled: hover a cell to name its {level}"
    s.note(sub, 0, -0.02, size=11, colour="#444")
    xaxis = {"type": "category", "tickangle": angle, "side": "top", "tickmode": "array",
             "tickvals": tickvals, "ticktext": ticktext, "automargin": True,
             "range": [-0.5, len(shown) - 0.5]}
    _reserve_title(xaxis, TITLE_SIZE)
    return s.figure(title, n=len(sel), height=height,
                    summary=(f"Grid of {len(order)} patients with {events} (rows) by {len(term_list)} event terms "
                             f"(columns), coloured by {colour_by}; {sub}."),
                    xaxis=xaxis,
                    # every row labelled (dtick 1: plotly would otherwise skip labels it finds crowded); many
                    # rows: no tick, label or grid line per row (thousands of them would be a grey smear)
                    yaxis={"autorange": "reversed", "type": "category", "automargin": True,
                           **({"showticklabels": False, "showgrid": False, "ticks": "", "tickmode": "array",
                               "tickvals": []} if many else {"dtick": 1})},
                    # the title at the top, the room under it kept by the x axis (_reserve_title)
                    title_style={"yref": "container", "y": 1, "yanchor": "top", "pad": {"t": 10}},
                    clickmode="event", margin={"t": 10, "b": HEATMAP_BOTTOM},
                    meta={"heatmap": {"rows": len(order), "labelled": not many, "note": note},
                          "title_reserve": "xaxis"})


def _panel_range(measures) -> list[float]:
    """A profile panel's y range: the measures' whole scale (``MEASURES`` low to high), with a little room."""
    low = min(MEASURES[m].low for m in measures)
    high = max(MEASURES[m].high for m in measures)
    pad = PROFILE_PAD * (high - low)
    return [low - pad, high + pad]


def patient_profile(meas: pd.DataFrame, patient_id: str, simulated_measures: list[str],
                    time: TimeWords = NEUTRAL_TIME) -> go.Figure:
    """All measures of one patient over time, one panel per outcome.

    Each panel spans its measure's whole scale (a fall from 25 to 18 reads as what it is on 0-40); each
    measure has its own colour, and the limbs of the weakness panel also their own dash, marker and width
    (drawn widest first), so two limbs with the same values stay visible, one inside the other."""
    m = meas[meas["patient_id"] == patient_id]
    if m.empty:
        return message_figure(f"Patient {patient_id} has no measurements", f"Patient {patient_id}")
    panels = profile_panels(m["measure"].unique())
    s = _Spec()
    axes, cells = _grid_axes(len(panels), 1, 0.08, 0, share_y=False)
    for r, ((t, ms), cell) in enumerate(zip(panels, cells)):
        x0, x1, _y0, y1 = cell["domain"]
        partly = any(x in simulated_measures for x in ms) and m[m["measure"].isin(ms)]["simulated"].any()
        # the panel's title names its measure and scale (an axis title would be longer than the panel is high)
        s.note(f"{t} ({MEASURES[ms[0]].unit})" + (" (partly SIMULATED)" if partly else ""), (x0 + x1) / 2, y1,
               xanchor="center", yanchor="bottom", size=13)
        for i, measure in enumerate(ms):
            d = m[m["measure"] == measure].sort_values("month")
            if d.empty:
                continue
            spec = MEASURES[measure]
            src = np.where(d["simulated"], "simulated", "observed (" + d["source"].astype(str).map(plain_text) + ")")
            colour = MEASURE_COLOURS.get(measure, BLUE)
            symbol = PROFILE_SYMBOLS[i % len(PROFILE_SYMBOLS)] if len(ms) > 1 else "circle"
            # several measures in a panel: the first widest, each next one narrower on top of it
            width, size = (2.5, 9) if len(ms) == 1 else (1.5 + 1.2 * (len(ms) - 1 - i), 8 + 2.5 * (len(ms) - 1 - i))
            s.trace(type="scatter", x=d["month"].to_numpy(float), y=d["value"].to_numpy(float), mode="lines+markers",
                    name=spec.label.replace("Weakness score, ", "WS "), xaxis=cell["xaxis"], yaxis=cell["yaxis"],
                    legendgroup=t, legendgrouptitle={"text": t} if len(ms) > 1 else None,
                    line={"color": colour, "width": width, "dash": PROFILE_DASHES[i % len(PROFILE_DASHES)]},
                    marker={"size": size, "symbol": np.where(d["simulated"], symbol + "-open", symbol),
                            "color": colour, "line": {"color": colour, "width": 1.5}},
                    customdata=np.stack([np.full(len(d), patient_id, dtype=object), src.astype(object)], axis=-1),
                    hovertemplate=(f"Patient %{{customdata[0]}}<br>Month %{{x:.2f}}<br>{spec.label}: %{{y}} "
                                   f"{spec.unit}<br>%{{customdata[1]}}<extra></extra>"))
        s.vline(0, xref=cell["xaxis"], yref=f"{cell['yaxis']} domain", width=1.2)
        sfx = "" if r == 0 else str(r + 1)
        axes[f"yaxis{sfx}"]["range"] = _panel_range(ms)
        axes[f"yaxis{sfx}"]["zeroline"] = False
        axes[f"xaxis{sfx}"]["dtick"] = 3
    last = "" if len(panels) == 1 else str(len(panels))
    axes[f"xaxis{last}"]["title"] = {"text": plain_text(time.months)}
    s.layout.update(axes)
    for trace in s.data:  # None: no group title (a panel of one measure)
        if trace.get("legendgrouptitle") is None:
            trace.pop("legendgrouptitle", None)
    sim = ", ".join(simulated_measures) if m.loc[m["simulated"], "measure"].isin(simulated_measures).any() else None
    return s.figure(f"Patient {patient_id}: all measures",
                    simulated=(f"hollow markers are simulated {sim} values" if sim else None),
                    summary=f"Patient {patient_id}'s {', '.join(t for t, _ in panels)} over {time.since}.",
                    height=260 * len(panels) + 80, showlegend=True,
                    # the legend beside the panels, from the top: under them it would sit far below the last one
                    legend={"orientation": "v", "x": 1.02, "xanchor": "left", "y": 1, "yanchor": "top",
                            "tracegroupgap": 14},
                    margin={"b": 64})


_AXIS_KEY = re.compile(r"^[xy]axis\d*$")


def _bands(data: list[dict], lay: dict, heat: dict, source) -> int:
    """A heatmap of more rows than PRESENT_HEATMAP_ROWS as labelled bands of consecutive rows (in place): each
    band shows per term the worst value of its patients, is named by them (up to three) or by its rows, and
    says in its hover how many of its patients had the event.  ``source``: the heatmap trace (its arrays as
    arrays: the JSON has numeric ones base64-encoded).  Returns the rows drawn."""
    t = data[0]
    z = np.asarray(source.z, dtype=float)
    n = z.shape[0]
    if n <= PRESENT_HEATMAP_ROWS:
        return n
    size = -(-n // PRESENT_HEATMAP_ROWS)
    ids = np.asarray(source.customdata)[:, 0] if z.shape[1] else np.array([""] * n)
    levels = list(t.get("colorbar", {}).get("ticktext") or [])
    starts = range(0, n, size)
    zb, labels, text = [], [], []
    for a in starts:
        b = min(n, a + size)
        block = z[a:b]
        zb.append(block.max(axis=0))
        labels.append(("Patients " + ", ".join(ids[a:b])) if b - a <= 3 else f"Rows {a + 1}-{b} ({b - a} patients)")
        had = (block > 0).sum(axis=0)
        worst = block.max(axis=0).astype(int)
        text.append([f"{h} of {b - a} patients with this event" + (f"; worst: {levels[w]}" if h and w < len(levels)
                                                                     else "") for h, w in zip(had, worst)])
    t["z"] = np.array(zb)
    t["y"] = text_array(labels)
    t["text"] = text_array(np.array(text, dtype=object))
    t["customdata"] = np.full(t["z"].shape, "", dtype=str)  # a band names no single patient: a click highlights none
    t["xgap"], t["ygap"] = 2, 2
    kept = []
    for shape in lay.get("shapes", []):  # the highlighted patient: their band
        if shape.get("yref") == "y" and shape.get("type") == "rect":
            band = int(round(shape["y0"] + 0.5)) // size
            shape.update(y0=band - 0.5, y1=band + 0.5)
        elif shape.get("yref") == "y" and shape.get("type") == "line":
            # a line between groups: kept where it falls between two bands, else left out (the band holds
            # patients of both groups); at its old row it stretched the axis far below the bands
            row = int(round(shape["y0"] + 0.5))
            if row % size:
                continue
            shape.update(y0=row // size - 0.5, y1=row // size - 0.5)
        kept.append(shape)
    lay["shapes"] = kept
    note = heat.get("note")
    if note:
        lay["annotations"] = [{**a, "text": f"{note}; shown in bands of {size} consecutive rows, each with its "
                                           "worst value per term"} if a.get("text", "").startswith(note) else a
                              for a in lay.get("annotations", [])]
    return len(zb)


def for_projector(fig: go.Figure) -> go.Figure:
    """A copy of ``fig`` legible at the back of a room: larger fonts, thicker lines, bigger markers.

    A heatmap keeps every row labelled at the larger font: its rows and colour bar grow with the font, and
    more than PRESENT_HEATMAP_ROWS patients are shown as labelled bands (:func:`_bands`)."""
    spec = fig.to_plotly_json()
    data = [copy.copy(t) for t in spec["data"]]
    for t in data:
        if isinstance(t.get("line"), dict) and t["line"].get("width") is not None:
            t["line"] = {**t["line"], "width": t["line"]["width"] * 1.8}
        if isinstance(t.get("marker"), dict) and isinstance(t["marker"].get("size"), (int, float)):
            t["marker"] = {**t["marker"], "size": t["marker"]["size"] * 1.5}
    lay = dict(spec["layout"])
    meta = lay.get("meta") if isinstance(lay.get("meta"), dict) else {}
    ratio = PROJECTOR_FONT / BASE_FONT
    lay["font"] = {**lay.get("font", {}), "size": PROJECTOR_FONT}
    lay["title"] = {**lay.get("title", {}), "font": {"size": PROJECTOR_TITLE}}
    if isinstance(lay.get("margin"), dict) and lay["margin"].get("t") and not meta.get("title_reserve"):
        # the title's room grows with its font (a panel title under it stays clear of it)
        lay["margin"] = {**lay["margin"], "t": round(lay["margin"]["t"] * PROJECTOR_TITLE / TITLE_SIZE)}
    lay["hoverlabel"] = {**lay.get("hoverlabel", {}), "font": {"size": 18}}
    lay["annotations"] = [{**a, "font": {**a.get("font", {}), "size": max(a.get("font", {}).get("size", 12), 16)}}
                          for a in lay.get("annotations", [])]
    # the shapes drawing data (a large spaghetti plot's lines, _Spec.segments: those with a legend group)
    # thicken like the traces' lines
    lay["shapes"] = [{**sh, "line": {**sh["line"], "width": sh["line"]["width"] * 1.8}}
                     if sh.get("legendgroup") is not None and isinstance(sh.get("line"), dict)
                     and sh["line"].get("width") is not None else dict(sh) for sh in lay.get("shapes", [])]
    for key in [k for k in lay if _AXIS_KEY.match(k)]:  # tick fonts set smaller than the figure's grow with it
        ax = lay[key] = dict(lay[key])
        if isinstance(ax.get("tickfont"), dict) and ax["tickfont"].get("size"):
            ax["tickfont"] = {**ax["tickfont"], "size": round(ax["tickfont"]["size"] * ratio)}
    if meta.get("title_reserve") in lay:
        _reserve_title(lay[meta["title_reserve"]], PROJECTOR_TITLE)
    heat = meta.get("heatmap")
    if heat and data and data[0].get("type") == "heatmap":
        t = data[0]
        rows = heat.get("rows", 0)
        if rows > PRESENT_HEATMAP_ROWS:
            rows = _bands(data, lay, heat, fig.data[0])
        if rows != heat.get("rows"):  # now labelled, one label per band
            lay["yaxis"] = {k: v for k, v in lay["yaxis"].items()
                            if k not in ("showticklabels", "showgrid", "ticks", "tickmode", "tickvals")}
            lay["yaxis"]["dtick"] = 1
        xaxis = lay["xaxis"] = dict(lay["xaxis"])
        ticks = list(xaxis.get("tickvals") or [])
        if len(ticks) > PRESENT_HEATMAP_TERMS:  # the larger labels need wider columns: fewer of them labelled
            step = -(-len(ticks) // PRESENT_HEATMAP_TERMS)
            # ... and shorter: a window's height holds the labels above the rows
            xaxis["tickvals"] = ticks[::step]
            xaxis["ticktext"] = [wrap_label(v, PRESENT_TERM_CHARS, 1) for v in xaxis["tickvals"]]
        colorbar = dict(t.get("colorbar") or {})
        height, colorbar["len"] = heatmap_geometry(rows, lay["xaxis"].get("ticktext") or [""],
                                                   lay["xaxis"].get("tickangle", -90),
                                                   len(colorbar.get("tickvals") or [0]), PROJECTOR_FONT,
                                                   PROJECTOR_TITLE, PRESENT_ROW_PX)
        t["colorbar"] = colorbar
        lay["height"] = height
        lay["meta"] = {**meta, "heatmap": {**heat, "rows": rows, "labelled": True}}
    else:
        lay["height"] = int((lay.get("height") or 420) * 1.25)
    _legend_below(lay, PROJECTOR_FONT)
    return go.Figure({"data": data, "layout": lay}, _validate=False)


def for_slide(fig: go.Figure, width: int, height: int) -> go.Figure:
    """``fig`` as a slide of ``width`` x ``height`` pixels (the ``figures`` command's images): projector fonts
    (:func:`for_projector`), and a bar axis of more than SLIDE_MAX_CATEGORIES categories (a waterfall's
    patients) without labels, its title saying how many, as the dashboard's slides (assets/dashboard.js)."""
    big = for_projector(fig)
    big.update_layout(width=width, height=height)
    for key in [k for k in big.to_plotly_json()["layout"] if _AXIS_KEY.match(k) and k.startswith("x")]:
        ref = "x" + key[len("xaxis"):]
        bars = {x for t in big.data if t.type == "bar" and (t.xaxis or "x") == ref and t.x is not None
                for x in t.x if x is not None}
        ax = big.layout[key]
        if len(bars) > SLIDE_MAX_CATEGORIES and ax.showticklabels is not False:
            text = ax.title.text or ""
            ax.update(showticklabels=False, title_text=f"{text}{': ' if text else ''}{len(bars)}, too many to label")
    return big


def alt_text(fig: go.Figure) -> str:
    """A text alternative: the title (with its n and simulated note) and a one-line summary."""
    title = re.sub(r"<[^>]+>", " ", fig.layout.title.text or "")
    title = re.sub(r"\s+", " ", title).strip()
    meta = fig.layout.meta or {}
    summary = meta.get("summary", "") if isinstance(meta, dict) else ""
    return f"{title}. {summary}".strip()


# ---------------------------------------------------------------- between groups and survival (issue 13)


def visit_change_figure(rows, styles: dict[str, GroupStyle], measure_label: str, time: TimeWords = NEUTRAL_TIME,
                        simulated: str | None = None) -> go.Figure:
    """Change from baseline by visit: mean ± SEM per group in the group's colour, n in the hover.  ``rows``:
    :class:`dashboard.between.VisitChange` (group, visit, month, n, mean, sem), in display order of ``styles``.
    Groups are set a little apart on the month axis so their error bars do not hide each other."""
    s = _Spec()
    keys = [k for k in styles if any(r.group == k for r in rows)]
    width = 0.12 if len(keys) > 1 else 0.0
    # the title's n: the patients with a change at any visit (at most, per group, its largest visit n)
    n_title = sum(max((r.n for r in rows if r.group == k), default=0) for k in keys)
    for i, key in enumerate(keys):
        mine = sorted((r for r in rows if r.group == key), key=lambda r: r.month)
        shift = (i - (len(keys) - 1) / 2) * width
        month = np.array([r.month for r in mine], dtype=float)
        n = np.array([r.n for r in mine], dtype=float)
        st = styles[key]
        s.trace(type="scatter", mode="lines+markers", name=plain_text(st.label), x=month + shift,
                y=np.array([r.mean for r in mine], dtype=float),
                line={"color": st.colour, "width": 2.5}, marker={"color": st.colour, "size": 7},
                error_y={"type": "data", "visible": True, "color": st.colour,
                         "array": np.array([r.sem if r.sem is not None else 0.0 for r in mine], dtype=float)},
                customdata=np.column_stack([n, month, np.array([r.sem if r.sem is not None else np.nan
                                                                for r in mine], dtype=float)]),
                hovertemplate=(f"{plain_text(st.label)}<br>month %{{customdata[1]:g}}: change %{{y:+.2f}} "
                               "± %{customdata[2]:.2f} (n = %{customdata[0]})<extra></extra>"))
    s.hline(0, colour="#555", width=1, dash="dot")
    return s.figure(f"{plain_text(measure_label)}: change from baseline by visit, mean ± SEM", n=n_title or None,
                    simulated=simulated,
                    x_title=plain_text(time.months), y_title=f"Change from day 0 ({plain_text(measure_label)})",
                    height=420, summary=(f"The mean change of {plain_text(measure_label)} from each patient's day-0 "
                                         "value at each scheduled visit, per group, with its SEM."))


def km_figure(curves, styles: dict[str, GroupStyle], label: str, show_ci: bool = False) -> go.Figure:
    """Kaplan-Meier curves (:class:`dashboard.survival.KMCurve`) per group: a step line (``line.shape="hv"``)
    in the group's colour from (0, 1) through each event time, carried on to the last censoring where that is
    later; + marks at the censoring times; optionally the pointwise 95% CI as a band."""
    s = _Spec()
    n_total = 0
    for c in curves:
        if c.reason or not c.time:
            continue
        st = styles.get(c.group, GroupStyle(str(c.group), GROUP_COLOURS["all"]))
        name = plain_text(st.label)
        n_total += c.n
        time = np.array(c.time, dtype=float)
        surv = np.array(c.survival, dtype=float)
        last = max(c.censored) if c.censored else None
        if last is not None and last > time[-1]:
            time, surv = np.r_[time, last], np.r_[surv, surv[-1]]
        if show_ci:
            lo = np.array([np.nan if v is None else v for v in c.lower], dtype=float)
            hi = np.array([np.nan if v is None else v for v in c.upper], dtype=float)
            if len(lo) < len(time):
                lo, hi = np.r_[lo, lo[-1]], np.r_[hi, hi[-1]]
            s.trace(type="scatter", mode="lines", x=time, y=hi, line={"width": 0, "shape": "hv"},
                    showlegend=False, hoverinfo="skip", legendgroup=name, name=f"{name} 95% CI")
            s.trace(type="scatter", mode="lines", x=time, y=lo, line={"width": 0, "shape": "hv"}, fill="tonexty",
                    fillcolor=_alpha(st.colour, 0.15), showlegend=False, hoverinfo="skip", legendgroup=name,
                    name=f"{name} 95% CI")
        s.trace(type="scatter", mode="lines", name=f"{name} (n = {c.n}, {c.events} events)", x=time, y=surv,
                line={"color": st.colour, "width": 2.5, "shape": "hv"}, legendgroup=name,
                hovertemplate=f"{name}<br>day %{{x:g}}: S = %{{y:.3f}}<extra></extra>")
        if c.censored:
            ct = np.array(c.censored, dtype=float)
            # the curve's value at each censoring time: the last step at or before it
            idx = np.searchsorted(np.array(c.time, dtype=float), ct, side="right") - 1
            s.trace(type="scatter", mode="markers", x=ct, y=np.array(c.survival, dtype=float)[idx],
                    marker={"symbol": "line-ns-open", "size": 9, "color": st.colour, "line": {"width": 1.5}},
                    showlegend=False, legendgroup=name, name=f"{name} censored",
                    hovertemplate=f"{name}<br>censored on day %{{x:g}}<extra></extra>")
    return s.figure(f"{plain_text(label)}: Kaplan-Meier estimate", n=n_total or None, x_title="Days from day 0",
                    y_title="Probability without the event", height=440,
                    summary=f"Kaplan-Meier curves of {plain_text(label)} per group; + marks a censored patient.",
                    yaxis={"range": [0, 1.04]}, xaxis={"rangemode": "tozero"})


def _alpha(colour: str, a: float) -> str:
    """``#RRGGBB`` as ``rgba(r, g, b, a)``."""
    h = colour.lstrip("#")
    return f"rgba({int(h[0:2], 16)}, {int(h[2:4], 16)}, {int(h[4:6], 16)}, {a})"


# ---------------------------------------------------------------- timelines (issue 14)

#: The swimmer plot's bar colour per severity (the heatmap's scale; not recorded grey).
SWIMMER_COLOURS = dict(zip(SEVERITIES, SEVERITY_COLOURS[1:]))
SWIMMER_ROW_PX = 22


def swimmer(rows, title: str = "Adverse events over time", group_labels: dict[str, str] | None = None,
            sort_words: str = "", n: int | None = None, highlight: str | None = None,
            row_word: str = "Patient", groups: list[str] | None = None) -> go.Figure:
    """A swimmer plot: one row per ``rows`` entry -- (row id, row label, events) with events
    :class:`dashboard.safety.TimelineEvent` -- against days since day 0; each event a bar from its start to its
    end coloured by severity, serious events marked with a diamond at their start, deaths (fatal events) with a
    cross at their end. Rows from the top in the order given; ``groups`` (one per row, rows sorted by group): a
    line between the groups."""
    if not rows:
        return message_figure("No events with a start day", title)
    s = _Spec()
    labels = [label for _rid, label, _ev in rows]
    ids = [rid for rid, _label, _ev in rows]
    severities = [*SEVERITIES, None]
    for sev in severities:
        xs, ys, hover = [], [], []
        for _rid, label, events in rows:
            for e in events:
                if e.severity != sev:
                    continue
                end = e.end_day if e.end_day > e.start_day else e.start_day + 0.8
                xs += [e.start_day, end, None]
                ys += [label, label, None]
                words = (f"{plain_text(e.term)}: day {e.start_day:g} to {e.end_day:g}"
                         + (" (ongoing)" if e.ongoing else "") + f", {sev or 'severity not recorded'}"
                         + (", serious" if e.serious else ""))
                hover += [words, words, None]
        if not xs:
            continue
        s.trace(type="scatter", x=xs, y=ys, mode="lines", name=sev or "severity not recorded",
                line={"color": SWIMMER_COLOURS.get(sev, NOT_RECORDED_COLOUR), "width": 7},
                text=np.asarray(hover, dtype=object), hovertemplate="%{y}<br>%{text}<extra></extra>",
                connectgaps=False)
    for kind, symbol, colour, pick, at in (("serious event", "diamond", VERMILLION, lambda e: bool(e.serious),
                                            lambda e: e.start_day),
                                           ("death", "x", BLACK, lambda e: e.fatal, lambda e: e.end_day)):
        xs, ys, hover = [], [], []
        for _rid, label, events in rows:
            for e in events:
                if pick(e):
                    xs.append(at(e))
                    ys.append(label)
                    hover.append(f"{kind}: {plain_text(e.term)}, day {at(e):g}")
        if xs:
            s.trace(type="scatter", x=xs, y=ys, mode="markers", name=kind,
                    marker={"symbol": symbol, "size": 11, "color": colour, "line": {"color": BLACK, "width": 1}},
                    text=np.asarray(hover, dtype=object), hovertemplate="%{y}<br>%{text}<extra></extra>")
    s.vline(0)
    if groups and len(groups) == len(rows):  # rows sorted by group: a line between the groups
        for i in range(1, len(groups)):
            if groups[i] != groups[i - 1]:
                s.layout["shapes"].append({"type": "line", "xref": "x domain", "x0": 0, "x1": 1, "yref": "y",
                                           "y0": i - 0.5, "y1": i - 0.5, "line": {"color": "#222", "width": 2}})
    many = len(rows) > HEATMAP_LABELLED_ROWS
    row_px = min(SWIMMER_ROW_PX, HEATMAP_MAX_HEIGHT / len(rows)) if many else SWIMMER_ROW_PX
    height = round(max(320, 150 + row_px * len(rows)))
    if highlight in ids:
        y = labels[ids.index(highlight)]
        s.layout["shapes"].append({"type": "line", "xref": "x domain", "x0": 0, "x1": 1, "y0": y, "y1": y,
                                   "yref": "y", "layer": "below", "line": {"color": "#bbb", "width": 18}})
    return s.figure(title + (f" ({sort_words})" if sort_words else ""), n=n, height=height,
                    x_title="Days since day 0",
                    summary=(f"Swimmer plot of {len(rows)} {row_word.lower()} rows: each event a bar from its start "
                             "to its end day coloured by severity; diamonds mark serious events, crosses deaths."),
                    yaxis={"autorange": "reversed", "type": "category", "automargin": True,
                           "categoryorder": "array", "categoryarray": labels,
                           **({"showticklabels": False, "ticks": ""} if many else {"dtick": 1})},
                    showlegend=True, margin={"t": 56, "b": 110},
                    meta={"swimmer": {"rows": len(rows), "labelled": not many}})


def add_confidentiality(fig: go.Figure, line: str) -> go.Figure:
    """The confidentiality line (an exported figure's, e.g. "Confidential: for the DSMB only") after the figure's
    title, on its line: the title's room is kept clear by every figure (an annotation in a margin ran into the
    notes and legends under the plots); ``layout.meta.confidentiality`` names it."""
    if not line:
        return fig
    title = fig.layout.title.text or ""
    fig.update_layout(title_text=f"{title}  ·  <i>{plain_text(line)}</i>" if title else plain_text(line))
    meta = dict(fig.layout.meta) if isinstance(fig.layout.meta, dict) else {}
    fig.update_layout(meta={**meta, "confidentiality": line})
    return fig
