"""What each view assembles (dashboard/views/)."""

from dashboard import cohorts, data, views


def test_serious_events_listed_most_severe_first_then_by_patient(shipped):
    c = cohorts.select(shipped, cohorts.CohortFilter())
    serious = views.run("safety", shipped, c).serious
    ae = shipped.adverse_events
    assert len(serious) == int(ae["serious"].sum()) > 1
    rank = [data.SEVERITIES.index(s) for s in serious["severity"]]
    assert rank == sorted(rank, reverse=True)
    assert serious["severity"].iloc[0] == "Death"
    for sev in set(serious["severity"]):
        pids = list(serious.loc[serious["severity"] == sev, "patient_id"].astype(str))
        assert pids == sorted(pids, key=data.natural_key)


def test_fvc_and_weakness_tables_per_visit_match_a_direct_pandas_count(shipped):
    """The per-visit n, mean, SD and SEM (Table 4's check) against pandas' own groupby, per group shown."""
    import math

    for pop in ("efficacy", "compare"):
        c = cohorts.select(shipped, cohorts.CohortFilter(population=pop))
        for key, measures in (("fvc", ["FVC"]), ("weakness", list(data.WS_MEASURES))):
            tables = views.run(key, shipped, c).visit_tables
            assert len(tables) == (2 if pop == "compare" else 1)
            groups = views.groups(c)
            for table, (_k, label, pids) in zip(tables, groups, strict=True):
                assert table.caption.startswith(label)
                m = shipped.measurements
                m = m[m["measure"].isin(measures) & m["patient_id"].isin(list(pids))]
                g = m.groupby(["measure", "visit"], observed=True)["value"].agg(["size", "mean", "std"])
                assert len(table.rows) == len(g)
                labels = {data.MEASURES[x].label: x for x in measures}
                digits = 1 if key == "fvc" else 2
                for row in table.rows:
                    want = g.loc[(labels[row[0].replace(" (simulated)", "")], row[1])]
                    assert int(row[3]) == want["size"]
                    half = 0.5 * 10 ** -digits + 1e-9  # the table rounds to ``digits``
                    assert abs(float(row[4]) - want["mean"]) <= half
                    assert abs(float(row[5]) - want["std"]) <= half
                    assert abs(float(row[6]) - want["std"] / math.sqrt(want["size"])) <= half


def test_fvc_and_weakness_change_from_baseline_per_visit_match_pandas(shipped):
    """The tables' change columns: each patient's value minus the patient's last value at or before day 0,
    then n, mean, SD and SEM per measure and visit, computed here with pandas alone."""
    import math

    for pop in ("efficacy", "compare"):
        c = cohorts.select(shipped, cohorts.CohortFilter(population=pop))
        for key, measures in (("fvc", ["FVC"]), ("weakness", list(data.WS_MEASURES))):
            for table, (_k, _label, pids) in zip(views.run(key, shipped, c).visit_tables, views.groups(c),
                                                 strict=True):
                m = shipped.measurements
                m = m[m["measure"].isin(measures) & m["patient_id"].isin(list(pids))]
                base = m[m["month"] <= 0].sort_values("month").groupby(["measure", "patient_id"])["value"].last()
                m = m.join(base.rename("base"), on=["measure", "patient_id"])
                g = (m["value"] - m["base"]).groupby([m["measure"], m["visit"]], observed=True).agg(
                    ["count", "mean", "std"])
                labels = {data.MEASURES[x].label: x for x in measures}
                half = 0.5 * 10 ** -(1 if key == "fvc" else 2) + 1e-9
                assert table.header[7:] == ("n with a baseline", "Change from baseline", "SD of change",
                                            "SEM of change")
                for row in table.rows:
                    want = g.loc[(labels[row[0].replace(" (simulated)", "")], row[1])]
                    assert int(row[7]) == want["count"]
                    assert abs(float(row[8]) - want["mean"]) <= half
                    assert abs(float(row[9]) - want["std"]) <= half
                    assert abs(float(row[10]) - want["std"] / math.sqrt(want["count"])) <= half

def test_slope_tests_name_who_they_leave_out_and_why(shipped):
    from dashboard import stats

    for pop in ("progressors", "efficacy", "compare"):
        c = cohorts.select(shipped, cohorts.CohortFilter(population=pop))
        r = views.run("alsfrs", shipped, c)
        for _k, label, pids in views.groups(c):
            for t in stats.slope_tests(shipped.measurements, "ALSFRS", pids):
                left = {p for g, w, p, _why in r.left_out if g == label and w == t.window_months}
                assert left == set(pids) - set(t.patient_ids), (pop, label, t.window_months)
                assert len(left) + t.n == len(pids)
    c = cohorts.select(shipped, cohorts.CohortFilter(population="progressors"))
    r = views.run("alsfrs", shipped, c)
    assert ("Progressors", 3, "1", "1 value(s) from day 0 to month 3: a slope needs 2 at distinct months") in r.left_out
    texts = [b for b in r.slope_table if b is not None and getattr(b, "caption", "") and "left out" in b.caption]
    why = "1 value(s) from day 0 to month 3: a slope needs 2 at distinct months"
    assert texts and texts[0].rows[0][2:] == (why, "1", "1")
