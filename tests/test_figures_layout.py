"""Figure layout without a browser: what the figures ask plotly to draw (ranges, colours, titles, rows).

What plotly then draws (label boxes that overlap, a figure that fits the window) is checked in Chromium by
tests/browser/test_presenting.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dashboard import cohorts, figures, views
from dashboard.data import MEASURES, WS_MEASURES

OKABE_ITO = {figures.ORANGE, figures.SKY, figures.GREEN, figures.YELLOW, figures.BLUE, figures.VERMILLION,
             figures.PURPLE, figures.BLACK}


def _axes(fig, letter: str) -> dict[str, dict]:
    lay = fig.to_plotly_json()["layout"]
    return {k: v for k, v in lay.items() if k.startswith(f"{letter}axis")}


def _patients(shipped, **kw) -> pd.DataFrame:
    return pd.DataFrame({"patient_id": list(cohorts.select(shipped, cohorts.CohortFilter(**kw)).patient_ids)})


# ---------------------------------------------------------------- the patient profile


@pytest.fixture(scope="module")
def profile(shipped):
    """Patient 7: ALSFRS (partly simulated), FVC and the four limbs (the lower two with the same values)."""
    return figures.patient_profile(shipped.measurements, "7", shipped.simulated_measures)


def test_profile_panels_span_their_measures_whole_scale(shipped, profile):
    """ALSFRS 18-25 under a "0-40" title read as a collapse: each panel spans its measure's scale."""
    panels = {t: ms for t, ms in figures.profile_panels(shipped.measurements.loc[
        shipped.measurements["patient_id"] == "7", "measure"].unique())}
    ranges = {}
    for key, ax in _axes(profile, "y").items():
        assert ax.get("autorange") in (None, False), key
        ranges[key] = ax["range"]
    assert len(ranges) == len(panels)
    for (key, (lo, hi)), ms in zip(sorted(ranges.items(), key=lambda kv: kv[0]), panels.values()):
        low, high = min(MEASURES[m].low for m in ms), max(MEASURES[m].high for m in ms)
        span = high - low
        assert lo <= low and hi >= high, (key, ms, lo, hi)
        assert low - lo <= 0.06 * span and hi - high <= 0.06 * span, (key, ms, lo, hi)  # small padding only
    # the first panel is ALSFRS: 0-40 whatever the patient's values
    first = ranges["yaxis"]
    assert first[0] < 0 < 40 < first[1] < 43


def test_profile_draws_each_measure_in_its_own_okabe_ito_colour(profile):
    colours = {t.name: t.line.color for t in profile.data}
    assert len(colours) == len(profile.data) == 6  # ALSFRS, FVC, four limbs
    assert len(set(colours.values())) == len(colours), colours
    assert set(colours.values()) <= OKABE_ITO, colours
    assert colours["ALSFRS"] != colours["FVC"]
    limbs = [t for t in profile.data if t.name.startswith("WS ")]
    assert [t.line.color for t in limbs] == [figures.LIMB_COLOURS[m] for m in WS_MEASURES]
    for t in profile.data:  # marker and line of a measure agree
        assert t.marker.color == t.line.color


def test_profile_limbs_with_the_same_values_stay_distinguishable(shipped, profile):
    """LEL hid under LER (the same values): each limb has its own dash and marker, and is drawn narrower than
    the one before, so a limb drawn on another shows inside it."""
    m = shipped.measurements
    m = m[m["patient_id"] == "7"]
    lel = m[m["measure"] == "WS_LEL"].sort_values("month")["value"].to_numpy()
    ler = m[m["measure"] == "WS_LER"].sort_values("month")["value"].to_numpy()
    assert len(lel) and np.array_equal(lel, ler)  # the case in the screenshot
    limbs = [t for t in profile.data if t.name.startswith("WS ")]
    assert len({t.line.dash for t in limbs}) == 4
    assert len({np.asarray(t.marker.symbol)[0].replace("-open", "") for t in limbs}) == 4
    widths = [t.line.width for t in limbs]
    sizes = [t.marker.size for t in limbs]
    assert widths == sorted(widths, reverse=True) and len(set(widths)) == 4
    assert sizes == sorted(sizes, reverse=True) and len(set(sizes)) == 4
    # a legend names every trace, the limbs under their panel's title
    assert profile.layout.showlegend is True
    assert all(t.showlegend is not False for t in profile.data)
    assert {t.legendgrouptitle.text for t in limbs} == {"Weakness scores"}


def test_profile_simulated_values_keep_hollow_markers(profile):
    alsfrs = next(t for t in profile.data if t.name == "ALSFRS")
    symbols = set(np.asarray(alsfrs.marker.symbol))
    assert "circle-open" in symbols and "circle" in symbols


# ---------------------------------------------------------------- the adverse-event heatmap


def test_serious_only_heatmap_says_so_in_its_title_and_counts(shipped):
    """A serious-only heatmap kept "worst severity" as its title and counted patients with non-serious events
    as "without any event"."""
    pats = _patients(shipped)
    ae = shipped.adverse_events
    serious = ae[ae["serious"]]
    fig = figures.ae_heatmap(serious, pats, "severity", only=("serious",))
    title = fig.layout.title.text
    assert "worst severity" in title and "serious events only" in title, title
    with_serious = set(serious.loc[serious["patient_id"].isin(pats["patient_id"]), "patient_id"])
    note = fig.layout.annotations[0].text
    assert note.startswith(f"{len(with_serious)} patients with serious events shown; ")
    assert f"{len(pats) - len(with_serious)} selected patients without a serious event not shown" in note
    assert "without any event" not in note
    assert "serious events" in fig.layout.meta["summary"]
    assert "serious events only" in figures.alt_text(fig)
    # the hover of an empty cell says what is missing
    assert "no serious event" in set(np.asarray(fig.data[0].text).ravel())
    # related only, and both
    assert "related events only" in figures.ae_heatmap(ae[ae["related"]], pats, only=("related",)).layout.title.text
    both = figures.ae_heatmap(ae[ae["serious"] & ae["related"]], pats, "serious", only=("related", "serious"))
    assert "serious and related events only" in both.layout.title.text


def test_heatmap_without_only_is_unchanged(shipped):
    fig = figures.ae_heatmap(shipped.adverse_events, _patients(shipped), "severity")
    assert fig.layout.title.text == "Adverse events by patient and term: worst severity (n = 26)"
    assert "11 selected patients without any event not shown" in fig.layout.annotations[0].text


def test_safety_view_passes_show_only_to_the_heatmap(shipped):
    """The safety view's "Show only: Serious events" reaches the heatmap's title and notes
    (dashboard/views/safety.py passes ``only=only`` to figures.ae_heatmap)."""
    c = cohorts.select(shipped, cohorts.CohortFilter())
    result = views.run("safety", shipped, c, None, only=["serious"])
    assert "serious events only" in result.heatmap.layout.title.text
    assert "without a serious event" in result.heatmap.layout.annotations[0].text


def test_heatmap_labels_every_row_and_keeps_the_title_at_the_top(shipped):
    pats = _patients(shipped)
    ae = shipped.adverse_events
    for fig in (figures.ae_heatmap(ae, pats), figures.ae_heatmap(ae[ae["serious"]], pats, only=("serious",))):
        lay = fig.to_plotly_json()["layout"]
        # dtick 1: plotly otherwise skips row labels it finds crowded (8 of 15 rows were labelled)
        assert lay["yaxis"]["dtick"] == 1 and lay["yaxis"].get("showticklabels") is not False
        # the title pinned to the top, the room under it kept by the top axis' (empty) title: no blank band
        assert (lay["title"]["yref"], lay["title"]["y"], lay["title"]["yanchor"]) == ("container", 1, "top")
        assert lay["margin"]["t"] <= 20
        assert lay["xaxis"]["side"] == "top" and lay["xaxis"]["automargin"] is True
        assert lay["xaxis"]["title"]["font"]["size"] >= figures.TITLE_SIZE
        # the columns keep their terms; their labels wrap
        assert list(fig.data[0].x) == list(lay["xaxis"]["tickvals"])
        assert all(max(len(line) for line in t.split("<br>")) <= 32 for t in lay["xaxis"]["ticktext"])
        # the colour bar: its labels at least 1.9 fonts apart, within a plot at least as tall
        cb = fig.data[0].colorbar
        assert cb.lenmode == "pixels" and cb.len >= 1.9 * figures.BASE_FONT * len(cb.tickvals)
        plot = lay["height"] - lay["margin"]["b"] - 1.3 * (figures.TITLE_SIZE + figures.TITLE_RESERVE_PAD)
        assert plot >= cb.len


def test_projected_heatmap_grows_with_its_font_and_bands_many_rows():
    rng = np.random.default_rng(1)
    n, terms = 57, ["Headache", "Respiratory failure (due to bronchopneumonia)", "Cystitis"]
    pats = pd.DataFrame({"patient_id": [str(i) for i in range(1, n + 1)]})
    ae = pd.DataFrame({
        "patient_id": [str(i) for i in range(1, n + 1)], "term": rng.choice(terms, n),
        "severity": rng.choice(["Mild", "Moderate", "Severe"], n), "serious": rng.random(n) < 0.3,
        "related": False, "action": None, "ongoing": False, "duration_days": 3.0})
    fig = figures.ae_heatmap(ae, pats, "severity", highlight="5")
    figures.validate(fig)
    big = figures.for_projector(fig)
    figures.validate(big)
    hm, lay = big.data[0], big.to_plotly_json()["layout"]
    rows = len(hm.y)
    assert rows <= figures.PRESENT_HEATMAP_ROWS
    assert lay["yaxis"]["dtick"] == 1 and lay["yaxis"].get("showticklabels") is not False
    z, zs = np.asarray(hm.z), np.asarray(fig.data[0].z)
    size = -(-n // figures.PRESENT_HEATMAP_ROWS)
    assert z.shape == (-(-n // size), zs.shape[1])
    assert (z == np.array([zs[a:a + size].max(axis=0) for a in range(0, n, size)])).all()  # worst per band
    labels = list(hm.y)
    assert len(set(labels)) == rows
    first_ids = [y.removeprefix("Patient ") for y in list(fig.data[0].y)[:size]]
    assert labels[0] == "Patients " + ", ".join(first_ids)
    assert "bands of 3 consecutive rows" in lay["annotations"][0]["text"]
    assert set(np.asarray(hm.customdata).ravel()) == {""}  # a band is nobody: a click highlights no one
    # the highlighted patient's band is outlined
    i = [y.removeprefix("Patient ") for y in fig.data[0].y].index("5")
    rect = next(s for s in lay["shapes"] if s["type"] == "rect")
    assert rect["y0"] == i // size - 0.5 and rect["y1"] == i // size + 0.5
    # rows, colour bar and the title's room grow with the font
    assert hm.colorbar.len > fig.data[0].colorbar.len
    assert lay["xaxis"]["title"]["font"]["size"] == figures.PROJECTOR_TITLE + figures.TITLE_RESERVE_PAD
    # a heatmap of few rows stays one row per patient
    few = figures.for_projector(figures.ae_heatmap(ae[ae["patient_id"].isin(["1", "2", "3"])], pats))
    assert list(few.data[0].y) == list(figures.ae_heatmap(ae[ae["patient_id"].isin(["1", "2", "3"])], pats).data[0].y)


def test_heatmap_term_labels_are_text_not_markup():
    """The wrapped column labels come from the terms as text (dataset text is untrusted), and name the columns."""
    evil = '<a href="https://evil.example/phish">details</a> of a long adverse event term'
    ae = pd.DataFrame({"patient_id": ["1"], "term": [evil], "serious": [False], "related": [False],
                       "severity": ["Mild"], "action": [None], "duration_days": pd.array([2], dtype="Int64"),
                       "ongoing": [False]})
    lay = figures.ae_heatmap(ae, pd.DataFrame({"patient_id": ["1"]})).to_plotly_json()["layout"]
    assert all("<" not in t.replace("<br>", "") for t in lay["xaxis"]["ticktext"])  # line breaks, no markup
    assert "&lt;a" in lay["xaxis"]["ticktext"][0]
    assert list(lay["xaxis"]["tickvals"]) == [figures.plain_text(evil)]


def test_wrap_label():
    assert figures.wrap_label("Headache") == "Headache"
    assert figures.wrap_label("Respiratory failure (due to bronchopneumonia)") == \
        "Respiratory failure (due<br>to bronchopneumonia)"
    assert figures.wrap_label("a b c d e f g h i j k l m n o p q r s t u v w x y z " * 3, 10, 2).endswith(" …")


# ---------------------------------------------------------------- the waterfall


def test_waterfall_axis_title_fits_beside_the_plot(shipped):
    """As one line the y title was longer than the plot was high and ran into the figure title."""
    c = cohorts.select(shipped, cohorts.CohortFilter())
    fig = views.run("alsfrs", shipped, c).waterfall
    y_title = fig.layout.yaxis.title.text
    lines = y_title.split("<br>")
    assert len(lines) == 2 and max(map(len, lines)) <= 24, y_title
    plot_px = fig.layout.height - fig.layout.margin.t - fig.layout.margin.b
    assert max(map(len, lines)) * 0.62 * figures.BASE_FONT < plot_px


def test_projector_figures_grow_their_tick_fonts_and_title_room(shipped):
    c = cohorts.select(shipped, cohorts.CohortFilter())
    fig = views.run("alsfrs", shipped, c).waterfall
    big = figures.for_projector(fig)
    assert big.layout.xaxis.tickfont.size > fig.layout.xaxis.tickfont.size
    assert big.layout.margin.t > fig.layout.margin.t
    assert big.layout.font.size == figures.PROJECTOR_FONT


def test_exported_waterfall_slides_label_their_patients_legibly_or_say_why_not(shipped, tmp_path):
    """`python -m dashboard figures` (dashboard/images.py) printed the ids of a waterfall of 70 patients at 17 px,
    22 px apart on a 1600 px slide (issue 15: illegible); the dashboard's slide (assets/dashboard.js) leaves
    more than 40 unlabelled and says so in the axis title. The CLI's slides follow the same rule."""
    from dashboard import images, simulate
    from dashboard.data import load_dataset

    small = images.figure_set(shipped, cohorts.select(shipped, cohorts.CohortFilter()))["alsfrs_waterfall"]
    ax = small.layout.xaxis
    n_small = len([x for t in small.data if t.type == "bar" for x in t.x if x is not None])
    assert (small.layout.width, small.layout.height) == (1600, 900)
    assert n_small <= figures.SLIDE_MAX_CATEGORIES and ax.showticklabels is not False
    assert ax.tickfont.size >= 16 and "too many to label" not in ax.title.text

    directory = simulate.write_trial(simulate.synthetic_trial(70, seed=4), tmp_path / "trial")
    ds = load_dataset(directory)
    big = images.figure_set(ds, cohorts.select(ds, cohorts.CohortFilter()))["alsfrs_waterfall"]
    n = len([x for t in big.data if t.type == "bar" for x in t.x if x is not None])
    assert n > figures.SLIDE_MAX_CATEGORIES
    assert big.layout.xaxis.showticklabels is False
    assert big.layout.xaxis.title.text.endswith(f": {n}, too many to label")
