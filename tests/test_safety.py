"""dashboard.safety (issue 14) checked against independent answers.

Expected values are hand counts (with the arithmetic in a comment), direct pandas counts written here, the raw
CDISC pilot files read with ``pandas.read_sas``, or published figures (Newcombe 1998), never a second call of the
function under test.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from dashboard import importers, safety
from tests.helpers import PILOT, pilot_raw

ARMS = ("Placebo", "Xanomeline Low Dose", "Xanomeline High Dose")
COLUMNS = ["patient_id", "term", "serious", "related", "severity", "action", "duration_days", "ongoing",
           "preferred_term", "body_system", "start_day"]


def events(rows) -> pd.DataFrame:
    """Adverse events in the loaded dtypes from tuples in :data:`COLUMNS` order (missing trailing cells: empty)."""
    full = [tuple(r) + (None,) * (len(COLUMNS) - len(r)) for r in rows]
    f = pd.DataFrame(full, columns=COLUMNS)
    return f.astype({"patient_id": "string", "term": "string", "serious": "boolean", "related": "boolean",
                     "severity": "string", "action": "string", "duration_days": "Int64", "ongoing": "boolean",
                     "preferred_term": "string", "body_system": "string", "start_day": "Int64"})


def json_safe(result) -> dict:
    return json.loads(json.dumps(result.to_dict(), allow_nan=False))


raw = pilot_raw


@pytest.fixture(scope="module")
def pilot():
    return importers.load(PILOT)


@pytest.fixture(scope="module")
def pilot_groups(pilot):
    ids = pilot.patients["patient_id"].astype(str).tolist()
    return ids, dict(zip(ids, pilot.patients["arm"].astype(str)))


def by_sex(ds):
    ids = ds.patients["patient_id"].astype(str).tolist()
    return ids, dict(zip(ids, ds.patients["sex"].astype(str)))


# ---------------------------------------------------------------- the shipped coding


def test_the_shipped_coding_keeps_the_verbatim_terms(shipped):
    ae = shipped.adverse_events
    # the eight verbatim terms of Table 3, as printed
    assert sorted(set(ae["term"])) == sorted([
        "PEG insertion", "Respiratory failure", "Headache", "Hyperhydrosis", "Leukocytosis",
        "Respiratory failure (due to bronchopneumonia)", "Cervical spine stenosis (progression)", "Cystitis"])
    assert ae["preferred_term"].notna().all() and ae["body_system"].notna().all()
    pt = dict(zip(ae["term"], ae["preferred_term"]))
    assert pt["Respiratory failure (due to bronchopneumonia)"] == pt["Respiratory failure"] == "Respiratory failure"
    assert set(ae.loc[ae["preferred_term"] == "Respiratory failure", "body_system"]) == {
        "Respiratory, thoracic and mediastinal disorders"}
    assert ae["preferred_term"].nunique() == 7 and ae["body_system"].nunique() == 7


# ---------------------------------------------------------------- the summary table


def test_summary_of_the_shipped_data_by_sex_equals_a_direct_count(shipped):
    ids, group = by_sex(shipped)
    s = safety.summary(shipped.adverse_events, ids, group, ["F", "M"])
    ae = shipped.adverse_events.assign(patient_id=shipped.adverse_events["patient_id"].astype(str))
    ae["sex"] = ae["patient_id"].map(group)
    sel = {"any": ae["term"].notna(), "serious": ae["serious"].eq(True), "related": ae["related"].eq(True),
           "severe": ae["severity"].isin(["Severe", "Death"]), "fatal": ae["severity"].eq("Death"),
           "withdrawal": ae["term"].isna()}
    n = {sex: sum(1 for p in ids if group[p] == sex) for sex in ("F", "M")}
    for key, mask in sel.items():
        row = s.row(key)
        sub = ae[mask.fillna(False)]
        assert (row.overall.patients, row.overall.events) == (sub["patient_id"].nunique(), len(sub)), key
        for sex, c in zip(("F", "M"), row.counts):
            mine = sub[sub["sex"] == sex]
            assert (c.patients, c.events, c.denominator) == (mine["patient_id"].nunique(), len(mine), n[sex]), key
    # by hand from Table 3: 15 of 26 patients, 18 events; serious 6 (1, 2, 7, 10, 20, 22); related 8 patients,
    # 10 events (headache x7, hyperhydrosis, leukocytosis x2); severe or worse 5 (2, 7, 10, 12, 22); fatal 2 (2, 10)
    assert [(s.row(k).overall.patients, s.row(k).overall.events)
            for k in ("any", "serious", "related", "severe", "withdrawal", "fatal")] == [
        (15, 18), (6, 6), (8, 10), (5, 5), (0, 0), (2, 2)]
    assert s.row("any").overall.percent == pytest.approx(100 * 15 / 26)
    assert not s.treatment_emergent and s.row("any").label == "Any adverse event"
    assert all(r.recorded for r in s.rows)  # every action of Table 3 is written ("No" is an action: none)
    json_safe(s)


def test_summary_of_the_cdisc_pilot_by_arm(pilot, pilot_groups):
    ids, group = pilot_groups
    s = safety.summary(pilot.adverse_events, ids, group, ARMS)
    adae, adsl = raw("adae"), raw("adsl")
    te = adae[adae["TRTEMFL"] == "Y"].merge(adsl[["USUBJID", "TRT01A"]], on="USUBJID")
    any_row = s.row("any")
    assert s.treatment_emergent and any_row.label == "Any treatment-emergent adverse event"
    assert (any_row.overall.patients, any_row.overall.denominator) == (218, 254)
    assert [c.patients for c in any_row.counts] == [te[te["TRT01A"] == a]["USUBJID"].nunique() for a in ARMS] == [
        65, 77, 76]
    assert [c.denominator for c in any_row.counts] == [86, 84, 84]
    assert s.row("fatal").overall.patients == te[te["AEOUT"] == "FATAL"]["USUBJID"].nunique() == 3
    assert s.row("serious").overall.events == int((te["AESER"] == "Y").sum())
    severe = te[te["AESEV"].isin(["SEVERE"]) | (te["AEOUT"] == "FATAL")]
    assert s.row("severe").overall.events == len(severe)
    # AEREL POSSIBLE/PROBABLE are related; the blank ones are not recorded, never "not related"
    rel = te[te["AEREL"].isin(["POSSIBLE", "PROBABLE"])]
    assert (s.row("related").overall.patients, s.row("related").overall.events) == (
        rel["USUBJID"].nunique(), len(rel))
    assert s.row("related").not_recorded.events == int((te["AEREL"] == "").sum()) == 4
    # AEACN is blank throughout the pilot: withdrawal is "not recorded", not 0
    assert (te["AEACN"] == "").all()
    assert not s.row("withdrawal").recorded and s.row("withdrawal").risk_differences == ()
    d = json_safe(s)
    assert d["rows"][4]["recorded"] is False and d["groups"][0] == {"group": "Placebo", "patients": 86}


def test_relationship_not_recorded_is_never_false():
    ae = events([("1", "Headache", False, None, "Mild"), ("2", "Nausea", False, None, "Mild"),
                 ("2", "Rash", False, True, "Mild")])
    s = safety.summary(ae, ["1", "2", "3"])
    rel = s.row("related")
    assert rel.recorded and (rel.overall.patients, rel.overall.events) == (1, 1)
    assert (rel.not_recorded.patients, rel.not_recorded.events) == (2, 2)
    none = safety.summary(events([("1", "Headache", False, None, "Mild")]), ["1"])
    assert not none.row("related").recorded
    assert json_safe(none)["rows"][2]["recorded"] is False


def test_withdrawal_words_are_matched_in_any_case():
    ae = events([("1", "A", False, False, "Mild", "DRUG WITHDRAWN"),
                 ("2", "B", False, False, "Mild", "Study drug discontinued"),
                 ("3", "C", False, False, "Mild", "Withdrawal from study"),
                 ("4", "D", False, False, "Mild", "DOSE REDUCED"),
                 ("5", "E", False, False, "Mild", None)])
    row = safety.summary(ae, ["1", "2", "3", "4", "5"]).row("withdrawal")
    assert (row.overall.patients, row.overall.events) == (3, 3)  # 1, 2, 3; 4 reduced; 5 not recorded
    assert (row.not_recorded.patients, row.not_recorded.events) == (1, 1)


def test_patients_outside_the_groups_count_overall_only():
    ae = events([("1", "A", True, False, "Severe"), ("2", "A", False, False, "Death"), ("9", "A", True, None, "Mild")])
    s = safety.summary(ae, ["1", "2", "3", "9"], {"1": "ctl", "2": "trt", "3": "trt"}, ["ctl", "trt"])
    assert s.group_n == (1, 2) and s.n == 4
    assert [(c.patients, c.denominator) for c in s.row("serious").counts] == [(1, 1), (0, 2)]
    assert s.row("serious").overall.patients == 2  # patient 9 has no group
    assert [c.patients for c in s.row("severe").counts] == [1, 1]
    assert s.row("fatal").counts[1].patients == 1


# ---------------------------------------------------------------- risk differences


@pytest.mark.parametrize("k1,n1,k0,n0,lower,upper", [
    (56, 70, 48, 80, 0.0524, 0.3339),  # Newcombe 1998 (Stat Med 17:873), example (a), method 10
    (9, 10, 3, 10, 0.1705, 0.8090),  # example (c)
])
def test_risk_difference_is_newcombe_s_hybrid_score_interval(k1, n1, k0, n0, lower, upper):
    iv = safety.risk_difference(k1, n1, k0, n0)
    assert iv.difference == pytest.approx(k1 / n1 - k0 / n0)
    assert (round(iv.lower, 4), round(iv.upper, 4)) == (lower, upper)


def test_wilson_interval_by_hand():
    # 1 of 4, z = 1.959964 (z² = 3.841459): denominator 1 + z²/4 = 1.960365;
    # centre (0.25 + z²/8) / 1.960365 = 0.730182 / 1.960365 = 0.372473;
    # half = z / 1.960365 * sqrt(0.25 * 0.75 / 4 + z²/64) = 0.999795 * sqrt(0.106898) = 0.326886
    lo, hi = safety.wilson_interval(1, 4)
    assert (round(lo, 4), round(hi, 4)) == (0.0456, 0.6994)


def test_summary_and_terms_carry_the_risk_difference_against_the_control():
    ae = events([("1", "A", True, False, "Mild"), ("3", "A", True, False, "Mild"), ("4", "A", False, False, "Mild")])
    group = {"1": "ctl", "2": "ctl", "3": "trt", "4": "trt"}
    s = safety.summary(ae, list(group), group, ["ctl", "trt"])
    (rd,) = s.row("any").risk_differences
    # trt 2/2 − ctl 1/2 = 0.5
    assert (rd.group, rd.control, rd.difference) == ("trt", "ctl", 0.5)
    assert (rd.lower, rd.upper) == pytest.approx(tuple(vars(safety.risk_difference(2, 2, 1, 2))[k]
                                                       for k in ("lower", "upper")))
    assert -1 <= rd.lower < 0.5 < rd.upper <= 1
    (term_rd,) = safety.hierarchy(ae, list(group), group, ["ctl", "trt"]).body_systems[0].terms[0].risk_differences
    assert term_rd.difference == 0.5
    assert safety.risk_difference(1, 0, 1, 2).difference is None  # an empty group: not computable


# ---------------------------------------------------------------- body system → preferred term


def assert_totals_equal_the_flat_counts(h, ae):
    a = ae.assign(patient_id=ae["patient_id"].astype(str))
    assert h.total.events == len(a) == sum(b.overall.events for b in h.body_systems)
    assert h.total.patients == a["patient_id"].nunique()
    for b in h.body_systems:
        assert b.overall.events == sum(t.overall.events for t in b.terms)
        assert max(t.overall.patients for t in b.terms) <= b.overall.patients <= sum(
            t.overall.patients for t in b.terms)
        for gi in range(len(h.groups)):
            assert b.counts[gi].events == sum(t.counts[gi].events for t in b.terms)
    for gi in range(len(h.groups)):
        assert h.total_counts[gi].events == sum(b.counts[gi].events for b in h.body_systems)


def test_hierarchy_of_the_shipped_data(shipped):
    ids = shipped.patients["patient_id"].astype(str).tolist()
    h = safety.hierarchy(shipped.adverse_events, ids)
    assert h.coded and h.verbatim_terms == 0
    # by hand: Headache 7 patients; Respiratory failure 4 (2, 7, 10, 22: the verbatim count gives 3);
    # Leukocytosis 2 (5, 26), Gastrostomy 2 (1, 20); four systems of 1 patient, in alphabetical order
    assert [(b.body_system, b.overall.patients) for b in h.body_systems] == [
        ("Nervous system disorders", 7), ("Respiratory, thoracic and mediastinal disorders", 4),
        ("Blood and lymphatic system disorders", 2), ("Surgical and medical procedures", 2),
        ("Infections and infestations", 1), ("Musculoskeletal and connective tissue disorders", 1),
        ("Skin and subcutaneous tissue disorders", 1)]
    resp = h.body_systems[1].terms
    assert [(t.term, t.overall.patients, t.overall.events) for t in resp] == [("Respiratory failure", 4, 4)]
    assert int((shipped.adverse_events["term"] == "Respiratory failure").sum()) == 3
    assert h.n_terms == 7
    assert_totals_equal_the_flat_counts(h, shipped.adverse_events)
    json_safe(h)


def test_hierarchy_of_the_cdisc_pilot(pilot, pilot_groups):
    ids, group = pilot_groups
    h = safety.hierarchy(pilot.adverse_events, ids, group, ARMS)
    te = raw("adae").query("TRTEMFL == 'Y'").merge(raw("adsl")[["USUBJID", "TRT01A"]], on="USUBJID")
    assert len(h.body_systems) == te["AEBODSYS"].nunique()
    assert h.n_terms == te["AEDECOD"].nunique()
    assert_totals_equal_the_flat_counts(h, pilot.adverse_events)
    direct = te.groupby(["AEBODSYS", "AEDECOD"])["USUBJID"].nunique()
    for b in h.body_systems:
        assert b.overall.patients == te[te["AEBODSYS"] == b.body_system]["USUBJID"].nunique()
        for t in b.terms:
            assert t.overall.patients == direct[(b.body_system, t.term)]
            mine = te[(te["AEDECOD"] == t.term) & (te["AEBODSYS"] == b.body_system)]
            assert [c.patients for c in t.counts] == [mine[mine["TRT01A"] == a]["USUBJID"].nunique() for a in ARMS]
    # sorted by frequency: systems, then the terms within each
    pts = [b.overall.patients for b in h.body_systems]
    assert pts == sorted(pts, reverse=True)
    for b in h.body_systems:
        assert [t.overall.patients for t in b.terms] == sorted((t.overall.patients for t in b.terms), reverse=True)


def test_uncoded_events_are_one_not_coded_system_under_their_verbatim_terms():
    ae = events([("1", "headache", None, None, None, None, None, False, "Headache", "Nervous system disorders"),
                 ("2", "sore head", None, None, None, None, None, False, "Headache", "Nervous system disorders"),
                 ("2", "itch", None, None, None, None, None, False, None, None),
                 ("3", "itch", None, None, None, None, None, False, None, "")])
    h = safety.hierarchy(ae, ["1", "2", "3"])
    assert [(b.body_system, b.overall.patients, b.overall.events) for b in h.body_systems] == [
        ("Nervous system disorders", 2, 2), (safety.NOT_CODED, 2, 2)]
    assert [t.term for t in h.body_systems[1].terms] == ["itch"] and h.verbatim_terms == 2
    flat = events([("1", "x"), ("1", "x"), ("2", "y")]).drop(columns=["preferred_term", "body_system"])
    h = safety.hierarchy(flat, ["1", "2"])
    assert not h.coded and [b.body_system for b in h.body_systems] == [safety.NOT_CODED]
    assert [(t.term, t.overall.patients, t.overall.events) for t in h.body_systems[0].terms] == [("x", 1, 2),
                                                                                                 ("y", 1, 1)]
    assert_totals_equal_the_flat_counts(h, flat)


# ---------------------------------------------------------------- deaths


def test_deaths_of_the_shipped_data_flag_patient_2(shipped):
    listing = safety.deaths(shipped.adverse_events, shipped.patients, shipped.measurements)
    assert listing.patient_ids == ("2", "10")
    two, ten = listing.deaths
    assert two.cause == ten.cause == "Respiratory failure" and two.day is None
    assert two.sources == (safety.SOURCE_FATAL_EVENT,)
    (c,) = two.conflicts
    assert c.kind == safety.MEASURED_AFTER_DEATH and c.last_month == 12
    assert set(c.measures) == {"FVC", "WS_UEL", "WS_UER", "WS_LEL", "WS_LER"}
    assert ten.conflicts == ()  # no value after day 0 (Table 4 does not list patient 10)
    assert json_safe(listing)["deaths"][0]["conflicts"][0]["last_month"] == 12


def test_deaths_of_the_cdisc_pilot(pilot, pilot_groups):
    _ids, group = pilot_groups
    listing = safety.deaths(pilot.all_adverse_events, pilot.patients, pilot.measurements, group_of=group)
    adae, adsl = raw("adae"), raw("adsl")
    fatal = adae[adae["AEOUT"] == "FATAL"].merge(adsl[["USUBJID", "TRT01A", "DTHFL"]], on="USUBJID")
    assert set(listing.patient_ids) == set(fatal["USUBJID"]) == set(adsl.loc[adsl["DTHFL"] == "Y", "USUBJID"])
    for _, r in fatal.iterrows():
        d = listing.of(r["USUBJID"])
        assert d.group == r["TRT01A"] and d.cause == r["AEDECOD"]
        assert d.day == r["AENDY"] - 1  # the study day AENDY (no day 0) as days since day 0
        assert d.sources == (safety.SOURCE_DIED, safety.SOURCE_FATAL_EVENT) and d.conflicts == ()


def test_death_sources_in_conflict():
    pats = pd.DataFrame({"patient_id": ["1", "2", "3", "4"],
                         "died": pd.array([False, True, True, None], dtype="boolean"),
                         "death_day": pd.array([None, 30, None, None], dtype="Int64")})
    ae = events([("1", "Stroke", True, False, "Death", None, 2, False, None, None, 10),
                 ("4", "Sepsis", True, False, "Death", None, 3, False, None, None, 20)])
    meas = pd.DataFrame({"patient_id": ["2", "2", "4"], "month": [0.5, 2.0, 1.0], "measure": ["FVC"] * 3,
                         "simulated": [False, False, True]})
    listing = safety.deaths(ae, pats, meas)
    assert listing.patient_ids == ("1", "2", "3", "4")  # 3: patients.died only
    one, two, three, four = listing.deaths
    assert three.sources == (safety.SOURCE_DIED,) and three.cause is None and three.day is None
    assert [c.kind for c in one.conflicts] == [safety.DIED_FALSE_FATAL_EVENT]
    assert one.day == 11  # start 10, 2 days: days 10 and 11
    # patient 2: died on day 30, measured at month 2 (day 60.9): after the death; month 0.5 (day 15) is before
    (c,) = two.conflicts
    assert c.kind == safety.MEASURED_AFTER_DEATH and c.last_month == 2.0 and two.cause is None
    assert two.sources == (safety.SOURCE_DIED, safety.SOURCE_DEATH_DAY)
    assert four.conflicts == ()  # a simulated value is no contact


def _deaths_by_hand(ae, pats, meas):
    """The listing's days, causes, sources and conflicts, one patient and one row at a time in plain Python."""
    from dashboard.data import DAYS_PER_MONTH, MEASURES

    out = {}
    for p in pats.itertuples():
        pid = str(p.patient_id)
        flag = None if pd.isna(p.died) else bool(p.died)
        fatal = [e for e in ae.itertuples() if str(e.patient_id) == pid and e.severity == "Death"]
        if flag is not True and not fatal:
            continue
        day = None if pd.isna(p.death_day) else float(p.death_day)
        sources = (["died"] if flag is True else []) + (["death_day"] if day is not None else [])
        if fatal:
            sources.append("event")
            if day is None:
                lasts = [e.start_day + max(e.duration_days - 1, 0) for e in fatal
                         if not pd.isna(e.start_day) and not pd.isna(e.duration_days)]
                starts = [e.start_day for e in fatal if not pd.isna(e.start_day)]
                day = float(min(lasts)) if lasts else (float(min(starts)) if starts else None)
        cause = "; ".join(dict.fromkeys(str(e.term) for e in fatal)) or None
        after = [r for r in meas.itertuples() if str(r.patient_id) == pid and not r.simulated
                 and ((r.month * DAYS_PER_MONTH > day + 0.5) if day is not None else r.month > 0)]
        late = None
        if after:
            late = (tuple(c for c in MEASURES if c in {r.measure for r in after}), max(r.month for r in after))
        out[pid] = (day, cause, tuple(sources), flag is False and bool(fatal), late)
    return out


@pytest.mark.parametrize("seed", range(4))
def test_summary_and_hierarchy_counts_agree_with_pandas_on_random_tables(seed):
    """The counts (patients, events per group and overall) against pandas' own nunique/len on the rows each
    summary row and each term selects: random events, groups (one patient in none), terms and flags."""
    import numpy as np

    rng = np.random.default_rng(seed)
    pids = [str(i) for i in range(1, 41)]
    group_of = {p: ("Placebo" if i % 3 == 0 else "Active") for i, p in enumerate(pids[:-1])}  # the last: no group
    n = 300
    ae = pd.DataFrame({
        "patient_id": rng.choice(pids + ["99"], n),  # "99" is not in the cohort
        "term": rng.choice(["Headache", "Nausea", "Fall", "Rash"], n),
        "body_system": rng.choice(["Nervous system disorders", "Gastrointestinal disorders", ""], n),
        "serious": rng.choice(np.array([True, False, None], dtype=object), n),
        "related": rng.choice(np.array([True, False], dtype=object), n),
        "severity": rng.choice(["Mild", "Moderate", "Severe", "Death"], n),
    })
    order = ("Placebo", "Active")
    mine = ae[ae["patient_id"].isin(pids)]

    def count(rows):
        per = [(rows[rows["patient_id"].map(group_of) == g]["patient_id"].nunique(),
                int((rows["patient_id"].map(group_of) == g).sum())) for g in order]
        return per, (rows["patient_id"].nunique(), len(rows))

    summ = safety.summary(ae, pids, group_of, order)
    for key, rows in (("any", mine), ("serious", mine[mine["serious"].eq(True)]),
                      ("related", mine[mine["related"].eq(True)]),
                      ("severe", mine[mine["severity"].isin(["Severe", "Death"])]),
                      ("fatal", mine[mine["severity"].eq("Death")])):
        row = summ.row(key)
        per, overall = count(rows)
        assert [(c.patients, c.events) for c in row.counts] == per, key
        assert (row.overall.patients, row.overall.events) == overall, key
    hier = safety.hierarchy(ae, pids, group_of, order)
    assert (hier.total.patients, hier.total.events) == count(mine)[1]
    systems = mine["body_system"].replace("", safety.NOT_CODED)
    assert sum(len(b.terms) for b in hier.body_systems) == len(mine.groupby([systems, mine["term"]]))
    for system in hier.body_systems:
        per, overall = count(mine[systems == system.body_system])
        assert [(c.patients, c.events) for c in system.counts] == per
        assert (system.overall.patients, system.overall.events) == overall
        for t in system.terms:
            per, overall = count(mine[mine["term"].eq(t.term) & (systems == system.body_system)])
            assert [(c.patients, c.events) for c in t.counts] == per
            assert (t.overall.patients, t.overall.events) == overall


@pytest.mark.parametrize("seed", range(4))
def test_deaths_listing_agrees_with_a_plain_loop_on_random_tables(seed):
    """Random patients (died true/false/not recorded, with or without a day), fatal and other events (days and
    durations missing or not) and measurements (some simulated): the listing, which works per patient at once,
    against a row-by-row loop."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n = 60
    ids = [str(i) for i in range(1, n + 1)]
    died = rng.choice([True, False, None], n, p=[0.3, 0.5, 0.2])
    day = [int(d) if dd is True and rng.random() < 0.6 else None for d, dd in zip(rng.integers(1, 400, n), died)]
    pats = pd.DataFrame({"patient_id": ids, "died": pd.array(list(died), dtype="boolean"),
                         "death_day": pd.array(day, dtype="Int64")})
    rows = []
    for _ in range(120):
        pid = str(rng.integers(1, n + 1))
        rows.append((pid, f"Term {rng.integers(0, 5)}", True, False,
                     rng.choice(["Death", "Severe", "Mild"], p=[0.3, 0.3, 0.4]), None,
                     None if rng.random() < 0.3 else int(rng.integers(1, 20)), False, None, None,
                     None if rng.random() < 0.2 else int(rng.integers(-30, 400))))
    ae = events(rows)
    meas = pd.DataFrame({"patient_id": rng.choice(ids, 400), "month": rng.choice([-6, -3, 0, 1, 3, 6, 9, 12], 400),
                         "measure": rng.choice(["ALSFRS", "FVC", "WS_UEL"], 400),
                         "simulated": rng.random(400) < 0.2})
    expected = _deaths_by_hand(ae, pats, meas)
    listing = safety.deaths(ae, pats, meas)
    assert set(listing.patient_ids) == set(expected) and len(expected) > 10
    source_name = {safety.SOURCE_DIED: "died", safety.SOURCE_DEATH_DAY: "death_day",
                   safety.SOURCE_FATAL_EVENT: "event"}
    for d in listing.deaths:
        day, cause, sources, died_false, late = expected[d.patient_id]
        assert (d.day, d.cause, tuple(source_name[s] for s in d.sources)) == (day, cause, sources), d.patient_id
        kinds = {c.kind: c for c in d.conflicts}
        assert (safety.DIED_FALSE_FATAL_EVENT in kinds) == died_false
        got = kinds.get(safety.MEASURED_AFTER_DEATH)
        assert (None if got is None else (got.measures, got.last_month)) == late, d.patient_id


def test_a_patient_died_by_the_patient_file_only_is_listed():
    pats = pd.DataFrame({"patient_id": ["3"], "died": pd.array([True], dtype="boolean")})
    listing = safety.deaths(events([]), pats, None)
    assert listing.patient_ids == ("3",) and listing.deaths[0].cause is None


# ---------------------------------------------------------------- timelines


def test_the_shipped_data_has_no_timelines(shipped):
    t = safety.timelines(shipped.adverse_events, shipped.patients["patient_id"].astype(str).tolist())
    assert t.patients == () and t.reason == safety.NO_START_DAYS == (
        "this dataset records event durations but no start days")
    assert t.undated_events == 18


def test_timelines_place_events_from_day_0():
    ae = events([("1", "Headache", False, True, "Mild", None, 3, False, None, None, 5),
                 ("1", "Fatigue", False, False, "Moderate", None, None, True, None, None, 20),
                 ("2", "Sepsis", True, False, "Death", None, 2, False, None, None, -2),
                 ("3", "Rash", False, False, "Mild", None, None, False, None, None, None),
                 ("2", "Cough", None, None, None, None, 1, False, None, None, -5)])
    meas = pd.DataFrame({"patient_id": ["1"], "month": [2.0], "measure": ["FVC"], "simulated": [False]})
    group = {"1": "trt", "2": "ctl", "3": "ctl"}
    t = safety.timelines(ae, ["1", "2", "3"], group, ["ctl", "trt"], measurements=meas)
    assert t.reason is None and t.undated_events == 1
    assert [p.patient_id for p in t.patients] == ["2", "1"]  # control first; patient 3 has no dated event
    one = t.patients[1]
    assert one.last_contact_day == pytest.approx(2 * 30.4375)
    head, fatigue = one.events
    assert (head.start_day, head.end_day, head.end_known) == (5, 8, True)  # 5 + 3
    assert fatigue.ongoing and fatigue.to_last_contact and fatigue.end_day == pytest.approx(60.875)
    cough, sepsis = t.patients[0].events
    assert (cough.severity, cough.serious, cough.fatal) == (None, None, False)  # not recorded stays unknown
    assert sepsis.fatal and sepsis.serious and sepsis.severity == "Death" and sepsis.start_day == -2
    by_first = safety.timelines(ae, ["1", "2", "3"], group, ["ctl", "trt"], sort="first_event")
    assert [p.patient_id for p in by_first.patients] == ["2", "1"]
    json_safe(t)


def test_timelines_of_the_cdisc_pilot(pilot, pilot_groups):
    ids, group = pilot_groups
    t = safety.timelines(pilot.adverse_events, ids, group, ARMS, patients=pilot.patients)
    te = raw("adae").query("TRTEMFL == 'Y'")
    dated = te[te["ASTDY"].notna()]
    assert len(t.patients) == dated["USUBJID"].nunique()
    assert sum(len(p.events) for p in t.patients) == len(dated) and t.undated_events == len(te) - len(dated)
    assert [p.group for p in t.patients] == sorted((p.group for p in t.patients), key=ARMS.index)
    fatal = [e for p in t.patients for e in p.events if e.fatal]
    assert len(fatal) == 3
