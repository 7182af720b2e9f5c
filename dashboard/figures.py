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
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .data import MEASURES, SEVERITIES, WS_MEASURES

# Okabe-Ito
ORANGE, SKY, GREEN, YELLOW, BLUE, VERMILLION, PURPLE, BLACK, GREY = (
    "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000", "#8C8C8C")
GROUP_COLOURS = {"progressor": VERMILLION, "stable": BLUE, "all": SKY}
GROUP_LABELS = {"progressor": "Progressors", "stable": "Stable", "all": "Patients"}
HIGHLIGHT_COLOUR = BLACK
#: Ordinal severity scale: none, mild, moderate, severe, death (luminance falls monotonically).
SEVERITY_COLOURS = ["#F2F2F2", "#FDD49E", "#FC8D59", "#D7301F", "#3B0A0A"]
SEVERITY_LEVELS = ("none",) + tuple(s.lower() for s in SEVERITIES)
#: Above this many points a spaghetti plot draws lines only (one SVG path per group, no markers):
#: fast to draw without WebGL, which remote desktops in hospitals often lack.
LARGE_THRESHOLD = 5000
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
SIMULATED_TAG = "SIMULATED"


def title_text(title: str, n: int | None = None, simulated: str | None = None) -> str:
    t = title
    if n is not None:
        t += f" (n = {n})"
    if simulated:
        t += f"<br><sup>{SIMULATED_TAG}: {simulated}</sup>"
    return t


def _base(fig: go.Figure, title: str, n=None, simulated=None, x_title=None, y_title=None, height=420, summary: str = "") -> go.Figure:
    fig.update_layout(
        title={"text": title_text(title, n, simulated), "x": 0.01, "xanchor": "left"},
        template="plotly_white",
        font={"family": FONT, "size": 13, "color": "#222"},
        margin={"l": 64, "r": 24, "t": 76 if simulated else 56, "b": 110},
        height=height,
        hoverlabel={"namelength": -1},
        # legend under the x-axis title, so it never covers the title or the data
        legend={"orientation": "h", "yanchor": "top", "y": -0.2, "xanchor": "left", "x": 0},
        meta={"n": n, "simulated": simulated or "", "summary": summary},
    )
    if x_title:
        fig.update_xaxes(title_text=x_title)
    if y_title:
        fig.update_yaxes(title_text=y_title)
    return fig


def message_figure(message: str, title: str = "", height: int = 320) -> go.Figure:
    """An empty figure that says why there is nothing to draw."""
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper", font={"size": 16, "color": "#444"})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _base(fig, title or message, height=height, summary=message)


def _gapped(df: pd.DataFrame, x: str, y: str, extra: list[str]) -> dict[str, np.ndarray]:
    """Concatenate patients' series with a NaN row between patients (df sorted by patient, x)."""
    n = len(df)
    if n == 0:
        return {x: np.array([]), y: np.array([]), **{e: np.array([], dtype=object) for e in extra}}
    pid = df["patient_id"].to_numpy()
    breaks = np.flatnonzero(pid[1:] != pid[:-1]) + 1
    pos = np.arange(n) + np.searchsorted(breaks, np.arange(n), side="right")
    size = n + len(breaks)
    out = {}
    for col in (x, y):
        arr = np.full(size, np.nan)
        arr[pos] = df[col].to_numpy(dtype=float)
        out[col] = arr
    for col in extra:
        arr = np.full(size, None, dtype=object)
        arr[pos] = df[col].astype(object).to_numpy()
        out[col] = arr
    return out


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
) -> go.Figure:
    """Each patient's values of ``measure`` over months from application.

    ``meas``: the measure's rows for the selected patients.  ``groups``:
    patient id -> group ("progressor", "stable" or "all").  ``summaries``:
    per group and visit mean and SEM (columns group, month, mean, sem, n).
    ``fits``: per patient fitted segments (columns patient_id, group,
    x0, y0, x1, y1, period).
    """
    spec = MEASURES[measure]
    fig = go.Figure()
    m = meas[meas["measure"] == measure]
    m = m.assign(group=m["patient_id"].map(groups).astype(object).where(lambda g: g.notna(), "all"))
    m = m.sort_values(["patient_id", "month"], kind="stable")
    m = m.assign(src=np.where(m["simulated"], "simulated", "observed"))
    n_patients = m["patient_id"].nunique()
    group_order = [g for g in ("progressor", "stable", "all") if g in set(m["group"])]
    large = len(m) > LARGE_THRESHOLD
    for g in group_order:
        d = m[m["group"] == g]
        arr = _gapped(d, "month", "value", ["patient_id", "src"])
        fig.add_trace(go.Scatter(
            x=arr["month"], y=arr["value"], mode="lines" if large else "lines+markers",
            name=f"{GROUP_LABELS[g]} (n = {d['patient_id'].nunique()})",
            customdata=np.stack([arr["patient_id"], arr["src"]], axis=-1) if len(d) else None,
            line={"color": GROUP_COLOURS[g], "width": 0.6 if large else 1.2}, marker={"size": 4, "color": GROUP_COLOURS[g]},
            opacity=0.3 if large else 0.55, connectgaps=False, legendgroup=g,
            hovertemplate=f"Patient %{{customdata[0]}}<br>Month %{{x:.2f}}<br>{spec.label}: %{{y}} {spec.unit}<br>%{{customdata[1]}}<extra>{GROUP_LABELS[g]}</extra>",
        ))
    if fits is not None and len(fits):
        for g in group_order:
            f = fits[fits["group"] == g]
            if f.empty:
                continue
            k = len(f)
            xs = np.full(3 * k, np.nan)
            ys = np.full(3 * k, np.nan)
            cd = np.full(3 * k, None, dtype=object)
            xs[0::3], xs[1::3] = f["x0"].to_numpy(float), f["x1"].to_numpy(float)
            ys[0::3], ys[1::3] = f["y0"].to_numpy(float), f["y1"].to_numpy(float)
            labels = (f["patient_id"].astype(str) + " (" + f["period"] + " slope " + f["slope"].map("{:+.2f}".format) + "/month)").to_numpy(object)
            cd[0::3], cd[1::3] = labels, labels
            fig.add_trace(go.Scatter(
                x=xs, y=ys, mode="lines", name=f"Fitted slopes, {GROUP_LABELS[g].lower()}", legendgroup=g,
                line={"color": GROUP_COLOURS[g], "width": 2.2, "dash": "dot"}, customdata=cd, connectgaps=False,
                hovertemplate="Patient %{customdata}<extra>OLS fit</extra>",
            ))
    if summaries is not None and len(summaries):
        for g in group_order:
            s = summaries[summaries["group"] == g].sort_values("month")
            if s.empty:
                continue
            colour = BLUE if g == "all" else GROUP_COLOURS[g]
            fig.add_trace(go.Scatter(
                x=s["month"], y=s["mean"], mode="lines+markers", name="Mean ± SEM" if g == "all" else f"Mean ± SEM, {GROUP_LABELS[g].lower()}",
                line={"color": colour, "width": 4}, marker={"size": 9, "symbol": "diamond", "color": colour, "line": {"color": "white", "width": 1}},
                error_y={"type": "data", "array": s["sem"].astype(float).fillna(0).to_numpy(), "visible": True, "color": colour, "thickness": 2, "width": 6},
                customdata=np.stack([s["n"].to_numpy(), s["sem"].astype(float).to_numpy()], axis=-1),
                legendgroup=g,
                hovertemplate=f"Month %{{x:.2f}}<br>mean {spec.label}: %{{y:.1f}} ± %{{customdata[1]:.2f}} (SEM)<br>n = %{{customdata[0]}}<extra>{GROUP_LABELS[g]}</extra>",
            ))
    if highlight is not None:
        h = m[m["patient_id"] == highlight]
        if len(h):
            fig.add_trace(go.Scatter(
                x=h["month"], y=h["value"], mode="lines+markers", name=f"Patient {highlight}",
                line={"color": HIGHLIGHT_COLOUR, "width": 4}, marker={"size": 10, "symbol": "circle", "line": {"color": "white", "width": 1.5}},
                customdata=np.stack([h["patient_id"].astype(object), h["src"].astype(object)], axis=-1),
                hovertemplate=f"Patient %{{customdata[0]}} (highlighted)<br>Month %{{x:.2f}}<br>{spec.label}: %{{y}} {spec.unit}<br>%{{customdata[1]}}<extra></extra>",
            ))
    fig.add_vline(x=0, line={"color": "#555", "width": 1.5, "dash": "dash"})
    fig.add_annotation(x=0, y=1, yref="paper", text="Day 0: application", showarrow=False, xanchor="left", yanchor="top", font={"size": 11, "color": "#333"}, xshift=4)
    if reference is not None:
        fig.add_hline(y=reference, line={"color": GREEN, "width": 2, "dash": "dashdot"})
        fig.add_annotation(x=0, xref="paper", y=reference, text=reference_label or f"{reference:g}", showarrow=False, xanchor="left", yanchor="top", font={"size": 11, "color": GREEN})
    fig.update_yaxes(range=_padded_range(m["value"], spec), zeroline=False)
    fig.update_xaxes(zeroline=False, dtick=3)
    fig.update_layout(showlegend=show_legend, clickmode="event", uirevision=measure)
    summary = (f"{spec.label} ({spec.unit}) of {n_patients} patients against months from application, one line per patient"
               + ("; thick lines: mean ± SEM per visit" if summaries is not None and len(summaries) else "")
               + (f"; patient {highlight} highlighted" if highlight else "") + ".")
    return _base(fig, title or f"{spec.label} over time", n=n_patients, simulated=simulated, summary=summary,
                 x_title="Months from application (day 0)", y_title=spec.axis_title)


def _padded_range(values: pd.Series, spec) -> list[float]:
    if len(values) == 0:
        return [spec.low, spec.high]
    lo, hi = float(values.min()), float(values.max())
    pad = max(1.0, 0.06 * (hi - lo))
    return [max(spec.low - pad * 0.2, lo - pad), min(spec.high + pad * 0.2, hi + pad)]


def slope_pairs(slopes: pd.DataFrame, window: float, groups: dict[str, str], measure: str = "ALSFRS",
                highlight: str | None = None, simulated: str | None = None) -> go.Figure:
    """Each patient's pre- and post-treatment slope, joined by a line (as the paper's Figure 1C/D)."""
    col = f"post_slope_{window:g}"
    d = slopes[slopes["pre_slope"].notna() & slopes[col].notna()]
    title = f"Pre vs post slope, {MEASURES[measure].label}, 0-{window:g} months"
    if d.empty:
        return message_figure("Not computable: no patient has both a pre- and a post-treatment slope", title)
    fig = go.Figure()
    xl = ["Before (month ≤ 0)", f"After (0-{window:g} months)"]
    d = d.assign(group=[groups.get(p, "all") for p in d.index])
    for g in [g for g in ("progressor", "stable", "all") if g in set(d["group"])]:
        dg = d[d["group"] == g]
        k = len(dg)
        xs = np.array([xl[0], xl[1], None] * k, dtype=object)
        ys = np.full(3 * k, np.nan)
        ys[0::3], ys[1::3] = dg["pre_slope"].to_numpy(float), dg[col].to_numpy(float)
        cd = np.repeat(dg.index.to_numpy(dtype=object), 3)
        fig.add_trace(go.Scatter(
            x=xs, y=ys, mode="lines" if len(d) > 300 else "lines+markers", name=f"{GROUP_LABELS[g]} (n = {k})", customdata=cd, connectgaps=False,
            line={"color": GROUP_COLOURS[g], "width": 1.5}, marker={"size": 8, "color": GROUP_COLOURS[g]}, opacity=0.75,
            hovertemplate="Patient %{customdata}<br>%{x}: %{y:+.3f} points/month<extra></extra>",
        ))
    if highlight is not None and highlight in d.index:
        r = d.loc[highlight]
        fig.add_trace(go.Scatter(x=xl, y=[r["pre_slope"], r[col]], mode="lines+markers", name=f"Patient {highlight}",
                                 line={"color": HIGHLIGHT_COLOUR, "width": 4}, marker={"size": 11}, customdata=[highlight, highlight],
                                 hovertemplate="Patient %{customdata} (highlighted)<br>%{x}: %{y:+.3f} points/month<extra></extra>"))
    fig.add_hline(y=0, line={"color": "#777", "width": 1})
    fig.update_layout(clickmode="event")
    summary = (f"Each of {len(d)} patients' OLS slope before day 0 and 0-{window:g} months after, joined by a line; "
               f"mean before {d['pre_slope'].mean():+.2f}, after {d[col].mean():+.2f} points/month.")
    return _base(fig, title, n=len(d), simulated=simulated, y_title=f"Slope ({MEASURES[measure].label} points per month)", summary=summary)


def waterfall(slopes: pd.DataFrame, window: float, groups: dict[str, str], measure: str = "ALSFRS",
              highlight: str | None = None, simulated: str | None = None) -> go.Figure:
    """Each patient's slope change (post minus pre), sorted: bars above 0 = slower decline after day 0."""
    col = f"post_slope_{window:g}"
    d = slopes[slopes["pre_slope"].notna() & slopes[col].notna()]
    title = f"Change in slope per patient, 0-{window:g} months"
    if d.empty:
        return message_figure("Not computable: no patient has both a pre- and a post-treatment slope", title)
    d = d.assign(change=d[col] - d["pre_slope"], group=[groups.get(p, "all") for p in d.index]).sort_values("change", ascending=False)
    labels = [f"P{p}" for p in d.index]
    colours = [HIGHLIGHT_COLOUR if p == highlight else GROUP_COLOURS[g] for p, g in zip(d.index, d["group"])]
    fig = go.Figure(go.Bar(
        x=labels, y=d["change"], marker={"color": colours, "line": {"color": ["#000" if p == highlight else "rgba(0,0,0,0)" for p in d.index], "width": 2}},
        customdata=np.stack([d.index.to_numpy(dtype=object), d["group"].map(GROUP_LABELS).to_numpy(dtype=object)], axis=-1),
        hovertemplate="Patient %{customdata[0]} (%{customdata[1]})<br>slope change %{y:+.3f} points/month<extra></extra>",
        showlegend=False,
    ))
    for g in [g for g in ("progressor", "stable", "all") if g in set(d["group"])]:
        fig.add_trace(go.Bar(x=[None], y=[None], marker={"color": GROUP_COLOURS[g]}, name=GROUP_LABELS[g], hoverinfo="skip"))
    fig.add_hline(y=0, line={"color": "#444", "width": 1})
    fig.update_layout(clickmode="event", bargap=0.15)
    fig.update_xaxes(type="category", tickangle=-90 if len(d) > 10 else 0, showticklabels=len(d) <= 80, tickfont={"size": 11})
    summary = (f"Bars: each of {len(d)} patients' post minus pre slope, sorted; {int((d['change'] > 0).sum())} above zero "
               f"(slower decline after day 0), {int((d['change'] < 0).sum())} below.")
    return _base(fig, title, n=len(d), simulated=simulated, x_title="Patient (sorted by change)", summary=summary,
                 y_title=f"Post minus pre slope ({MEASURES[measure].label} points/month)")


def ws_grid(meas: pd.DataFrame, groups: dict[str, str], summaries: pd.DataFrame | None, highlight: str | None = None) -> go.Figure:
    """Weakness scores of the four limbs as small multiples, with their means."""
    present = [m for m in WS_MEASURES if m in set(meas["measure"])]
    titles = [MEASURES[m].label.replace("Weakness score, ", "") for m in WS_MEASURES]
    fig = make_subplots(rows=2, cols=2, shared_xaxes=True, shared_yaxes=True, subplot_titles=titles, vertical_spacing=0.14, horizontal_spacing=0.06)
    n_patients = meas[meas["measure"].isin(WS_MEASURES)]["patient_id"].nunique()
    for i, measure in enumerate(WS_MEASURES):
        r, c = divmod(i, 2)
        sub = spaghetti(meas, measure, groups, summaries[summaries["measure"] == measure] if summaries is not None else None,
                        highlight=highlight, show_legend=False) if measure in present else None
        if sub is None:
            continue
        for tr in sub.data:
            tr.showlegend = i == 0 and tr.showlegend is not False
            fig.add_trace(tr, row=r + 1, col=c + 1)
    fig.add_vline(x=0, line={"color": "#555", "width": 1.2, "dash": "dash"})
    fig.update_yaxes(range=[-0.2, 5.2], dtick=1)
    fig.update_xaxes(dtick=3)
    fig.update_yaxes(title_text="WS (0-5)", col=1)
    fig.update_xaxes(title_text="Months from application", row=2)
    fig.update_layout(clickmode="event", uirevision="ws")
    return _base(fig, "Weakness scores by limb (0 = plegia, 5 = normal)", n=n_patients, height=620,
                 summary=f"Four panels, one per limb: each of {n_patients} patients' weakness score over months from application, with the mean ± SEM.")


def ws_mean(summaries: pd.DataFrame) -> go.Figure:
    """Mean weakness score of each limb over time (± SEM)."""
    fig = go.Figure()
    colours = dict(zip(WS_MEASURES, (BLUE, SKY, VERMILLION, ORANGE)))
    dashes = dict(zip(WS_MEASURES, ("solid", "dash", "solid", "dash")))
    n = 0
    for measure in WS_MEASURES:
        s = summaries[(summaries["measure"] == measure)].sort_values("month")
        if s.empty:
            continue
        n = max(n, int(s["n"].max()))
        fig.add_trace(go.Scatter(
            x=s["month"], y=s["mean"], mode="lines+markers", name=MEASURES[measure].label.replace("Weakness score, ", ""),
            line={"color": colours[measure], "width": 3, "dash": dashes[measure]},
            error_y={"type": "data", "array": s["sem"].astype(float).fillna(0).to_numpy(), "visible": True},
            customdata=s["n"].to_numpy(), hovertemplate="Month %{x:.2f}: mean %{y:.2f} (n = %{customdata})<extra>%{fullData.name}</extra>",
        ))
    fig.add_vline(x=0, line={"color": "#555", "width": 1.2, "dash": "dash"})
    fig.update_yaxes(range=[0, 5.2])
    fig.update_xaxes(dtick=3)
    return _base(fig, "Mean weakness score per limb ± SEM", n=n or None, x_title="Months from application (day 0)", y_title="Weakness score (0-5)", height=380,
                 summary="The mean weakness score of each limb at each visit, with its SEM.")


def ae_heatmap(ae: pd.DataFrame, patients: pd.DataFrame, colour_by: str = "severity", highlight: str | None = None) -> go.Figure:
    """Patients (rows) by event terms (columns), coloured by the worst severity, seriousness or relatedness.

    ``patients``: the selected patients (patient_id, group columns) in row order.
    Rows: patients with events first (most events first), then the others.
    """
    title = {"severity": "Adverse events by patient and term: worst severity",
             "serious": "Adverse events by patient and term: seriousness",
             "related": "Adverse events by patient and term: relationship to the cell product"}[colour_by]
    if patients.empty:
        return message_figure("No patients match the current filters", title)
    sel = set(patients["patient_id"])
    a = ae[ae["patient_id"].isin(sel)]
    if a.empty:
        return message_figure(f"No adverse events in the {len(sel)} selected patients", title)
    sev_rank = {s: i + 1 for i, s in enumerate(SEVERITIES)}
    a = a.assign(sev=a["severity"].map(sev_rank).astype(int))
    terms = a.groupby("term")["patient_id"].nunique().sort_values(ascending=False, kind="stable")
    term_list = list(terms.index)
    per_patient = a.groupby("patient_id").agg(worst=("sev", "max"), events=("sev", "size"))
    order = [p for p in patients["patient_id"] if p in per_patient.index]
    rank = {p: i for i, p in enumerate(order)}
    order.sort(key=lambda p: (-per_patient.at[p, "worst"], -per_patient.at[p, "events"], rank[p]))
    if colour_by == "severity":
        cell = a.groupby(["patient_id", "term"])["sev"].max()
        levels, colours = list(SEVERITY_LEVELS), SEVERITY_COLOURS
    elif colour_by == "serious":
        cell = a.groupby(["patient_id", "term"])["serious"].max().astype(int) + 1
        levels, colours = ["none", "not serious", "serious"], ["#F2F2F2", SKY, VERMILLION]
    else:
        cell = a.groupby(["patient_id", "term"])["related"].max().astype(int) + 1
        levels, colours = ["none", "not related", "related"], ["#F2F2F2", SKY, ORANGE]
    z = cell.unstack("term").reindex(index=order, columns=term_list).fillna(0).to_numpy()

    def describe_event(r):
        dur = "ongoing (persistent)" if r.ongoing else (f"{int(r.duration_days)} days" if pd.notna(r.duration_days) else "duration not given")
        return (f"{r.severity}, {'serious' if r.serious else 'not serious'}, "
                f"{'related' if r.related else 'not related'}; action: {r.action if pd.notna(r.action) else 'not given'}; {dur}")

    text_map = a.assign(desc=[describe_event(r) for r in a.itertuples()]).groupby(["patient_id", "term"])["desc"].agg("<br>".join)
    text = np.full(z.shape, "no event", dtype=object)
    pos_p = {p: i for i, p in enumerate(order)}
    pos_t = {t: j for j, t in enumerate(term_list)}
    for (p, t), desc in text_map.items():
        text[pos_p[p], pos_t[t]] = desc
    k = len(levels)
    scale = []
    for i, c in enumerate(colours):
        scale += [[i / k, c], [(i + 1) / k, c]]
    rows = [f"Patient {p}" for p in order]
    custom = np.array([[p] * len(term_list) for p in order], dtype=object)
    fig = go.Figure(go.Heatmap(
        z=z, x=term_list, y=rows, zmin=-0.5, zmax=k - 0.5, colorscale=scale, xgap=2, ygap=2,
        customdata=custom, text=text,
        hovertemplate="%{y} · %{x}<br>%{text}<extra></extra>",
        colorbar={"tickvals": list(range(k)), "ticktext": levels, "title": {"text": colour_by}, "thickness": 14, "len": 0.8},
    ))
    if highlight in pos_p:
        i = pos_p[highlight]
        fig.add_shape(type="rect", x0=-0.5, x1=len(term_list) - 0.5, y0=i - 0.5, y1=i + 0.5, line={"color": HIGHLIGHT_COLOUR, "width": 3})
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category", tickangle=-30, side="top")
    fig.update_layout(clickmode="event")
    n_without = len(sel) - len(order)
    sub = f"{len(order)} patients with events shown; {n_without} selected patients without any event not shown"
    fig = _base(fig, title, n=len(sel), height=max(320, 120 + 26 * len(order)), y_title=None,
                summary=f"Grid of {len(order)} patients with events (rows) by {len(term_list)} event terms (columns), coloured by {colour_by}; {sub}.")
    fig.add_annotation(text=sub, xref="paper", yref="paper", x=0, y=-0.02, yanchor="top", showarrow=False, font={"size": 11, "color": "#444"})
    fig.update_layout(margin={"t": 150, "b": 48})
    return fig


def patient_profile(meas: pd.DataFrame, patient_id: str, simulated_measures: list[str]) -> go.Figure:
    """All measures of one patient over time, one panel per outcome."""
    m = meas[meas["patient_id"] == patient_id]
    if m.empty:
        return message_figure(f"Patient {patient_id} has no measurements", f"Patient {patient_id}")
    panels = [("ALSFRS", ["ALSFRS"]), ("FVC", ["FVC"]), ("Weakness scores", list(WS_MEASURES))]
    panels = [(t, ms) for t, ms in panels if m["measure"].isin(ms).any()]
    fig = make_subplots(rows=len(panels), cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=[t + (" (partly SIMULATED)" if any(x in simulated_measures for x in ms) else "") for t, ms in panels])
    colours = dict(zip(WS_MEASURES, (BLUE, SKY, VERMILLION, ORANGE)))
    for r, (_t, ms) in enumerate(panels, start=1):
        for measure in ms:
            d = m[m["measure"] == measure].sort_values("month")
            if d.empty:
                continue
            spec = MEASURES[measure]
            src = np.where(d["simulated"], "simulated", "observed (" + d["source"].astype(str) + ")")
            fig.add_trace(go.Scatter(
                x=d["month"], y=d["value"], mode="lines+markers", name=spec.label.replace("Weakness score, ", "WS "),
                line={"color": colours.get(measure, BLUE), "width": 2.5},
                marker={"size": 9, "symbol": np.where(d["simulated"], "circle-open", "circle"), "color": colours.get(measure, BLUE)},
                customdata=np.stack([np.full(len(d), patient_id, dtype=object), src.astype(object)], axis=-1),
                hovertemplate=f"Patient %{{customdata[0]}}<br>Month %{{x:.2f}}<br>{spec.label}: %{{y}} {spec.unit}<br>%{{customdata[1]}}<extra></extra>",
            ), row=r, col=1)
        spec = MEASURES[ms[0]]
        fig.update_yaxes(title_text=spec.axis_title if len(ms) == 1 else "WS (0-5)", row=r, col=1)
    fig.add_vline(x=0, line={"color": "#555", "width": 1.2, "dash": "dash"})
    fig.update_xaxes(title_text="Months from application (day 0)", row=len(panels), col=1, dtick=3)
    sim = ", ".join(simulated_measures) if any(m.loc[m["simulated"], "measure"].isin(simulated_measures)) else None
    return _base(fig, f"Patient {patient_id}: all measures", simulated=(f"hollow markers are simulated {sim} values" if sim else None),
                 summary=f"Patient {patient_id}'s {', '.join(t for t, _ in panels)} over months from application.",
                 height=260 * len(panels) + 80)


def for_projector(fig: go.Figure) -> go.Figure:
    """A copy of ``fig`` legible at the back of a room: larger fonts, thicker lines, bigger markers."""
    f = go.Figure(fig)
    f.update_layout(font={"size": 20}, title={"font": {"size": 26}}, hoverlabel={"font": {"size": 18}})
    for tr in f.data:
        line = getattr(tr, "line", None)
        if line is not None and line.width is not None:
            tr.line.width = line.width * 1.8
        marker = getattr(tr, "marker", None)
        if marker is not None and getattr(marker, "size", None) is not None and not isinstance(marker.size, (list, tuple)):
            tr.marker.size = marker.size * 1.5
    for ann in f.layout.annotations or ():
        ann.font.size = max(ann.font.size or 12, 16)
    h = f.layout.height or 420
    f.update_layout(height=int(h * 1.25))
    return f


def alt_text(fig: go.Figure) -> str:
    """A text alternative: the title (with its n and simulated note) and a one-line summary."""
    import re

    title = re.sub(r"<[^>]+>", " ", fig.layout.title.text or "")
    title = re.sub(r"\s+", " ", title).strip()
    meta = fig.layout.meta or {}
    summary = meta.get("summary", "") if isinstance(meta, dict) else ""
    return f"{title}. {summary}".strip()
