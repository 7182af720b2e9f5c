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
