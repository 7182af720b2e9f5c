"""Figures: one trace per group with gaps, patient ids in customdata, n and simulated notes in titles."""

import re

import numpy as np
import pandas as pd
import pytest

from dashboard import cohorts, figures, stats


def _meas(shipped, measure, ids):
    m = shipped.measurements
    return m[(m["measure"] == measure) & m["patient_id"].isin(ids)]


def test_spaghetti_one_trace_per_group_with_gaps(shipped):
    ids = cohorts.select(shipped, cohorts.CohortFilter(population="efficacy")).patient_ids
    m = _meas(shipped, "FVC", ids)
    fig = figures.spaghetti(m, "FVC", {p: "all" for p in ids})
    tr = fig.data[0]
    assert tr.mode == "lines"  # no marker nodes: the vertices are the visits
    y = np.asarray(tr.y, dtype=float)
    n_pat = m["patient_id"].nunique()
    assert np.isnan(y).sum() == n_pat - 1  # one gap between consecutive patients
    assert (~np.isnan(y)).sum() == len(m)
    ids_in_plot = {c[0] for c in tr.customdata if c[0]}
    assert len(ids_in_plot) == n_pat
    assert f"n = {n_pat}" in fig.layout.title.text
    # a patient with one value has no line: a marker of its own, in the group's legend entry, hovering as the line
    counts = m.groupby("patient_id", observed=True).size()
    singles = sorted(counts[counts == 1].index.astype(str))
    assert singles, "the shipped efficacy population has a patient with a single FVC value"
    assert len(fig.data) == 2
    alone = fig.data[1]
    assert alone.mode == "markers" and alone.legendgroup == tr.legendgroup and alone.showlegend is False
    assert sorted(c[0] for c in alone.customdata) == singles
    assert alone.hovertemplate == tr.hovertemplate
    want = m[m["patient_id"].astype(str).isin(singles)].sort_values("patient_id")
    assert list(alone.y) == list(want["value"].astype(float))


def test_spaghetti_without_single_values_has_no_marker_trace(shipped):
    ids = cohorts.select(shipped, cohorts.CohortFilter(population="efficacy")).patient_ids
    m = _meas(shipped, "ALSFRS", ids)
    m = m[m.groupby("patient_id", observed=True)["value"].transform("size") > 1]
    fig = figures.spaghetti(m, "ALSFRS", {p: "all" for p in ids})
    assert [t.mode for t in fig.data if t.legendgroup == "all" and "Mean" not in (t.name or "")] == ["lines"]


def test_spaghetti_compare_groups_and_highlight(shipped):
    c = cohorts.select(shipped, cohorts.CohortFilter(population="compare"))
    m = _meas(shipped, "ALSFRS", c.patient_ids)
    fig = figures.spaghetti(m, "ALSFRS", dict(c.groups), highlight="7", simulated="ALSFRS simulated")
    names = [t.name for t in fig.data]
    assert names[0].startswith("Progressors (n = 12)") and names[1].startswith("Stable (n = 11)")
    assert names[-1] == "Patient 7"
    assert "SIMULATED" in fig.layout.title.text


def test_spaghetti_draws_lines_only_for_large_inputs():
    """One SVG path per group, no markers: fast without WebGL."""
    n = 2000
    rows = pd.DataFrame({
        "patient_id": np.repeat([str(i) for i in range(n)], 4),
        "month": np.tile([-6.0, 0.0, 3.0, 6.0], n),
        "measure": "FVC", "value": 80.0, "simulated": False,
    })
    fig = figures.spaghetti(rows, "FVC", {})
    assert len(fig.data) == 2
    entry, tr = fig.data
    assert {t.type for t in fig.data} == {"scatter"} and [t.mode for t in fig.data] == ["lines", "none"]
    # the lines are drawn by one path shape, hidden with its group; the group's legend entry is a trace of no
    # points, and a trace of the same points that draws nothing (mode "none") is for hover and clicks
    paths = [sh for sh in fig.layout.shapes if sh.type == "path"]
    assert len(paths) == 1 and not paths[0].showlegend and paths[0].layer == "below"
    assert paths[0].legendgroup == entry.legendgroup == tr.legendgroup
    assert entry.showlegend and list(entry.x) == [None] and entry.name == tr.name
    assert not tr.showlegend and tr.hoveron == "points"
    # every patient has the same three segments: each is drawn once, and says who shares it
    assert len(tr.x) == 3 * 3
    assert list(tr.customdata[:2]) == ["0 and 1999 others"] * 2
    assert "Patient %{customdata}" in tr.hovertemplate


def test_large_spaghetti_draws_each_distinct_segment_once_and_every_one():
    """Drawing a segment again on itself, in one trace, changes no pixel: the large plot draws the set of segments."""
    rng = np.random.default_rng(3)
    n, months = 3000, [-6.0, -3.0, 0.0, 3.0, 6.0]
    ids = [str(i) for i in range(n)]
    rows = pd.DataFrame({  # patient ids categorical in natural order, as the loaded dataset has them
        "patient_id": pd.Categorical(np.repeat(ids, len(months)), categories=ids),
        "month": np.tile(months, n), "measure": "WS_UEL", "value": rng.integers(3, 6, n * len(months)).astype(float),
        "simulated": False,
    })
    rows = rows.drop(index=rng.choice(len(rows), 2000, replace=False))  # missing visits: gaps stay gaps
    fig = figures.spaghetti(rows, "WS_UEL", {})
    tr = fig.data[1]
    x, y, cd = np.asarray(tr.x, dtype=float), np.asarray(tr.y, dtype=float), list(tr.customdata)
    drawn = {(x[i], y[i], x[i + 1], y[i + 1]): cd[i] for i in range(0, len(x), 3)}
    assert np.isnan(x[2::3]).all() and len(drawn) == len(x) // 3  # one gap after each, no segment twice
    want: dict = {}
    for pid, p in rows.groupby("patient_id", sort=True, observed=True):
        xs, ys = p["month"].to_numpy(), p["value"].to_numpy()
        for i in range(len(xs) - 1):
            want.setdefault((xs[i], ys[i], xs[i + 1], ys[i + 1]), []).append(pid)
    assert set(drawn) == set(want)
    for seg, pids in want.items():
        label = drawn[seg]
        assert label.split(" ")[0] == pids[0]
        assert (label == pids[0] if len(pids) == 1
                else label == f"{pids[0]} and {len(pids) - 1} other{'s' if len(pids) > 2 else ''}")
    assert int(re.search(r"n = (\d+)", fig.data[0].name).group(1)) == n
    # what is drawn (the path shape) is exactly these segments, each once, to PATH_DECIMALS
    (path,) = [sh.path for sh in fig.layout.shapes if sh.type == "path"]
    pieces = re.findall(r"M([-\d.e]+),([-\d.e]+)L([-\d.e]+),([-\d.e]+)", path)
    assert "".join(f"M{a},{b}L{c},{d}" for a, b, c, d in pieces) == path
    r = figures.PATH_DECIMALS
    assert sorted(tuple(float(v) for v in p) for p in pieces) == sorted(
        tuple(round(v, r) for v in seg) for seg in drawn)


def test_large_spaghetti_shapes_carry_their_legend_group_and_thicken_for_the_projector():
    rows = pd.DataFrame({"patient_id": np.repeat([str(i) for i in range(1200)], 2), "month": np.tile([0.0, 3.0], 1200),
                         "measure": "ALSFRS", "value": np.tile([30.0, 28.0], 1200), "simulated": False})
    fig = figures.spaghetti(rows, "ALSFRS", {str(i): "progressor" if i % 2 else "stable" for i in range(1200)},
                            summaries=pd.DataFrame({"group": ["progressor"], "month": [0.0], "mean": [30.0],
                                                    "sem": [0.0], "n": [600]}))
    paths = [sh for sh in fig.layout.shapes if sh.type == "path"]
    assert [p.legendgroup for p in paths] == ["progressor", "stable"]
    big = figures.for_projector(fig)
    assert [sh.line.width for sh in big.layout.shapes if sh.type == "path"] == pytest.approx(
        [p.line.width * 1.8 for p in paths])
    day0 = [sh for sh in fig.layout.shapes if sh.type == "line"]
    assert [sh.line.width for sh in big.layout.shapes if sh.type == "line"] == [sh.line.width for sh in day0]


def test_fit_segments_drawn_as_one_trace_per_group(shipped):
    ids = cohorts.select(shipped, cohorts.CohortFilter(population="progressors")).patient_ids
    fits = stats.fit_segments(shipped.measurements, "ALSFRS", ids, 3).assign(group="all")
    fig = figures.spaghetti(_meas(shipped, "ALSFRS", ids), "ALSFRS", {p: "all" for p in ids}, fits=fits)
    fit_traces = [t for t in fig.data if t.name.startswith("Fitted slopes")]
    assert len(fit_traces) == 1
    assert np.isnan(np.asarray(fit_traces[0].y, dtype=float)).sum() == len(fits)


def test_heatmap_hover_names_each_event_of_a_cell(shipped):
    """A cell's hover text has one line per event of that patient and term (cells of one event and of several)."""
    # the shipped events, and a second event in three of their cells (the shipped trial has one per cell)
    ae = pd.concat([shipped.adverse_events, shipped.adverse_events.iloc[[0, 2, 4]].assign(severity="Severe")],
                   ignore_index=True)
    ids = cohorts.select(shipped, cohorts.CohortFilter()).patient_ids
    fig = figures.ae_heatmap(ae, pd.DataFrame({"patient_id": list(ids)}), "severity")
    hm = fig.data[0]
    text = np.asarray(hm.text, dtype=object)
    rows = [str(c) for c in np.asarray(hm.customdata, dtype=object)[:, 0]]  # each row's patient
    counts = ae.groupby(["patient_id", "term"], observed=True).size()
    assert (counts > 1).sum() == 3 and (counts == 1).any()
    checked = 0
    for (pid, term), n in counts.items():
        if str(pid) not in rows or term not in list(hm.x):
            continue
        cell = text[rows.index(str(pid)), list(hm.x).index(term)]
        assert len(cell.split("<br>")) == n, (pid, term, cell)
        checked += 1
    assert checked == len(counts)


def test_heatmap_rows_terms_and_levels(shipped):
    ids = cohorts.select(shipped, cohorts.CohortFilter()).patient_ids
    fig = figures.ae_heatmap(shipped.adverse_events, pd.DataFrame({"patient_id": list(ids)}), "severity")
    hm = fig.data[0]
    assert len(hm.y) == 15  # patients with at least one event
    assert list(hm.x)[0] == "Headache"  # most frequent term first
    z = np.asarray(hm.z)
    row2 = list(hm.y).index("Patient 2")
    assert z[row2, list(hm.x).index("Respiratory failure")] == 4  # death
    assert list(hm.colorbar.ticktext) == ["none", "mild", "moderate", "severe", "death"]
    # the severity colours darken monotonically (readable in greyscale)
    lum = [0.2126 * int(c[1:3], 16) + 0.7152 * int(c[3:5], 16) + 0.0722 * int(c[5:7], 16)
           for c in figures.SEVERITY_COLOURS]
    assert lum == sorted(lum, reverse=True)


@pytest.mark.parametrize("n", [figures.PAIRS_AS_ONE_LINE + 1, 2000])
def test_large_slope_pairs_are_one_line_showing_each_pair_and_nothing_else(n):
    """Above PAIRS_AS_ONE_LINE patients a group's pairs are one unbroken line (one SVG path): every patient's
    segment from (0, pre) to (1, post) is in it, and every other piece of it lies outside what is drawn (x
    outside the pairs' axis range 0-1, or above the y range), so plotly clips it."""
    rng = np.random.default_rng(n)
    sl = pd.DataFrame({"pre_slope": rng.normal(-1, 0.6, n), "post_slope_3": rng.normal(-0.8, 0.6, n)},
                      index=[str(i) for i in range(n)])
    groups = {p: ("progressor" if i % 3 else "stable") for i, p in enumerate(sl.index)}
    fig = figures.slope_pairs(sl, 3, groups, highlight="7")
    x2, (y_lo, y_hi) = fig.layout.xaxis2, fig.layout.yaxis.range
    assert list(x2.range) == [0, 1] and x2.visible is False
    # x2's 0-1 lies over x's 0-1 (x's range is -0.25-1.25 over the whole width)
    lo, hi = fig.layout.xaxis.range
    assert x2.domain[0] == pytest.approx((0 - lo) / (hi - lo)) and x2.domain[1] == pytest.approx((1 - lo) / (hi - lo))
    pair_traces = [t for t in fig.data if t.xaxis == "x2" and t.name and "n = " in t.name]
    assert len(pair_traces) == 2
    seen = {}
    for t in pair_traces:
        x, y = np.asarray(t.x, float), np.asarray(t.y, float)
        assert not np.isnan(x).any() and not np.isnan(y).any()  # unbroken: one path
        for j in range(len(x) - 1):
            (xa, ya), (xb, yb) = (x[j], y[j]), (x[j + 1], y[j + 1])
            if (xa, xb) == (0.0, 1.0):
                seen[t.customdata[j][0]] = (ya, yb)
                continue
            assert (min(xa, xb) >= 1 or max(xa, xb) <= 0 or min(ya, yb) > y_hi), (j, xa, ya, xb, yb)
    want = {p: (r["pre_slope"], r["post_slope_3"]) for p, r in sl.iterrows()}
    assert seen == want
    assert y_lo < min(sl.min()) and y_hi > max(sl.max())
    # the highlighted patient is drawn over the pairs, on their axis, markers not cut at its ends
    h = next(t for t in fig.data if t.name == "Patient 7")
    assert h.xaxis == "x2" and h.cliponaxis is False
    assert list(h.y) == [sl.loc["7", "pre_slope"], sl.loc["7", "post_slope_3"]]


def test_message_figure_for_empty_views(shipped):
    fig = figures.slope_pairs(pd.DataFrame(columns=["pre_slope", "post_slope_3"]), 3, {})
    assert "Not computable" in fig.layout.annotations[0].text


def test_every_view_figure_passes_plotly_validation(shipped):
    """Figures skip plotly.py's validation for speed; here every one goes through it (a typo fails)."""
    from dashboard import views

    for pop in ("safety", "compare", "progressors"):
        c = cohorts.select(shipped, cohorts.CohortFilter(population=pop))
        al = views.run("alsfrs", shipped, c, highlight="7", show_fits=True, window=6)
        figs = [al.figure, al.pairs, al.waterfall, views.run("fvc", shipped, c, "7").figure]
        ws = views.run("weakness", shipped, c, "7")
        figs += [ws.grid, ws.mean, views.run("safety", shipped, c, "5").heatmap,
                 views.run("profile", shipped, c, "7").figure]
        figs += [figures.for_projector(f) for f in figs]
        figs.append(figures.message_figure("No patients match"))
        for f in figs:
            figures.validate(f)


def test_large_waterfall_draws_needles_one_trace_per_group():
    rng = np.random.default_rng(5)
    n = figures.WATERFALL_BARS + 200
    ids = [str(i) for i in range(1, n + 1)]
    slopes = pd.DataFrame({"pre_slope": rng.normal(-1, 0.3, n), "post_slope_3": rng.normal(-0.5, 0.3, n)},
                          index=pd.Index(ids, name="patient_id"))
    groups = {p: "progressor" if int(p) % 3 else "stable" for p in ids}
    fig = figures.waterfall(slopes, 3, groups, highlight="7")
    figures.validate(fig)
    needles = [t for t in fig.data if t.name.split(" (")[0] in ("Progressors", "Stable")]
    assert [t.mode for t in needles] == ["lines", "lines"]
    change = (slopes["post_slope_3"] - slopes["pre_slope"]).sort_values(ascending=False)
    seen = {}
    for t in needles:
        x, y, cd = np.asarray(t.x, dtype=float), np.asarray(t.y, dtype=float), list(t.customdata)
        # one unbroken line: up each needle and back to zero, then along the zero line to the next rank
        assert (y[0::3] == 0).all() and (y[2::3] == 0).all() and (x[0::3] == x[1::3]).all()
        assert (x[1::3] == x[2::3]).all() and not np.isnan(x).any() and not np.isnan(y).any()
        for i in range(0, len(x), 3):
            pid = cd[i].split(":")[0]
            seen[pid] = (x[i], y[i + 1])
            assert groups[pid] == ("progressor" if t.name.startswith("Progressors") else "stable")
    assert set(seen) == set(ids)
    for rank, (pid, c) in enumerate(change.items()):  # x = rank of the change, y = the change
        assert seen[pid] == (rank, pytest.approx(c))
    assert [t for t in fig.data if t.name == "Patient 7"]
    assert f"n = {n}" in fig.layout.title.text


def test_dataset_text_is_never_live_markup_in_a_figure():
    """An adverse-event term holding a link became a live link in the heatmap (issue 16, finding 7)."""
    import pandas as pd

    evil = '<a href="https://evil.example/phish">details</a>'
    ae = pd.DataFrame({"patient_id": ["1"], "term": [evil], "serious": [False], "related": [False],
                       "severity": ["Mild"], "action": ['<b onmouseover="x()">act</b>'],
                       "duration_days": pd.array([2], dtype="Int64"), "ongoing": [False]})
    fig = figures.ae_heatmap(ae, pd.DataFrame({"patient_id": ["1", "2"]}))
    trace = fig.to_plotly_json()["data"][0]
    shown = " ".join(str(v) for v in np.asarray(trace.get("x", [])).ravel())
    shown += " ".join(str(v) for v in np.asarray(trace.get("text", []), dtype=object).ravel())
    shown += " ".join(str(v) for v in np.asarray(trace.get("hovertext", []), dtype=object).ravel())
    assert "<a " not in shown and "<b " not in shown
    assert "details" in shown  # the words stay, as text


def test_figures_are_written_by_the_standard_json_module_as_orjson_would_write_them(shipped):
    """plotly.py picks orjson when that package is installed ("auto"), whose path rewrites the whole answer in
    Python first: up to 5 times slower at 10,000 patients.  figures.JSON_ENGINE fixes the standard module, and a
    view's answer as Dash writes it is the same JSON either way."""
    import json

    import plotly.io as pio
    from dash._utils import to_json

    from dashboard import views

    assert pio.json.config.default_engine == figures.JSON_ENGINE == "json"
    cohort = cohorts.select(shipped, cohorts.CohortFilter(population="efficacy"))
    result = views.run("alsfrs", shipped, cohort, "1")
    answer = {slot.name: getattr(result, slot.attr) for slot in views.BY_KEY["alsfrs"].figures}
    ours = json.loads(to_json(answer))
    assert set(ours) == {"spaghetti", "slope-pairs", "waterfall"} and ours["spaghetti"]["data"]
    pytest.importorskip("orjson")
    assert json.loads(pio.json.to_json_plotly(answer, engine="orjson")) == ours
