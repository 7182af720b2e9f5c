"""Simulated data: ALSFRS trajectories for the shipped dataset, and whole
synthetic trials for benchmarks and tests.

The paper prints ALSFRS only at day 0 (Table 2).  The dashboard's core views
need trajectories, so the shipped dataset carries *simulated* ALSFRS values
at the other visits, every one with ``source = simulated``.  The model and
its parameters are here, in :class:`AlsfrsSimulation`, and described in
``data/README.md``.  ``python -m dashboard simulate-alsfrs`` rewrites exactly
the committed rows.

No Dash import; nothing here runs at import time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .data import MEASURES, SOURCES_SIMULATED, Dataset, sort_patient_ids


@dataclass(frozen=True)
class AlsfrsSimulation:
    """Every parameter of the simulated ALSFRS trajectories, in one place."""

    #: Seed of numpy's default_rng; the same seed gives the same rows.
    seed: int = 20170401
    #: How many efficacy patients are simulated as progressors.
    n_progressors: int = 12
    #: Progressors' fall from visit I to visit V (points), drawn uniformly.
    progressor_decline: tuple[int, int] = (2, 11)
    #: Stable patients' fall from visit I to visit V (points), drawn uniformly.
    stable_decline: tuple[int, int] = (0, 1)
    #: Fraction of the pre-treatment rate of decline removed right after
    #: day 0 in progressors (0 = no effect, 1 = progression stops).
    slowdown: float = 0.6
    #: Months after day 0 over which that slowdown fades linearly to none.
    slowdown_fade_months: float = 12.0
    #: Fraction of the slowdown that stable patients get (0 = none).
    stable_slowdown: float = 0.0
    #: Rate of decline of stable patients after day 0 (points per month):
    #: their own pre-treatment rate, plus this.
    stable_extra_decline_per_month: float = 0.1
    #: SD of the Gaussian measurement noise (points) added before rounding,
    #: at every simulated visit except the two that define progression.
    noise_sd: float = 0.6

    def cumulative_change(self, months: np.ndarray, rate: np.ndarray, slowdown: np.ndarray) -> np.ndarray:
        """Change from day 0 after ``months`` for a patient declining at ``rate`` (points/month, >= 0).

        The rate is reduced by ``slowdown`` at day 0, the reduction fading
        linearly to zero at ``slowdown_fade_months``:
        d(value)/dt = -rate * (1 - slowdown * max(0, 1 - t / fade)).
        """
        fade = self.slowdown_fade_months
        t = np.clip(months, 0, None)
        within = np.minimum(t, fade)
        relief = slowdown * (within - within**2 / (2 * fade))
        return -rate * (t - relief)


def simulate_alsfrs(dataset: Dataset, params: AlsfrsSimulation | None = None) -> pd.DataFrame:
    """Simulated ALSFRS rows (measurements columns) for ``dataset``.

    Visits I, II and III for every patient with a real day-0 ALSFRS value;
    post-treatment visits for efficacy patients only, at the visits where that
    patient has an FVC value (the same attendance).  Day 0 itself stays real.
    Exactly ``n_progressors`` efficacy patients fall by ``progressor_decline``
    points from visit I to V; the other efficacy patients by
    ``stable_decline``.
    """
    p = params or AlsfrsSimulation()
    rng = np.random.default_rng(p.seed)
    meas = dataset.measurements
    real = meas[~meas["simulated"]]
    day0 = real[(real["measure"] == "ALSFRS") & (real["month"] == 0)].set_index("patient_id")["value"]
    visits = dataset.visits.set_index("visit")["month"]
    pre_visits = [v for v, mo in visits.items() if mo < 0]
    first_pre = min(pre_visits, key=lambda v: visits[v])
    hi = MEASURES["ALSFRS"].high

    patients = dataset.patients.set_index("patient_id")
    ids = [pid for pid in sort_patient_ids(day0.index)]
    efficacy = [pid for pid in ids if bool(patients.at[pid, "efficacy_population"])]
    eligible = [pid for pid in efficacy if day0[pid] + p.progressor_decline[0] <= hi]
    if len(eligible) < p.n_progressors:
        raise ValueError(f"only {len(eligible)} efficacy patients can fall {p.progressor_decline[0]} points within 0-{hi:g}")
    progressors = set(rng.choice(eligible, size=p.n_progressors, replace=False).tolist())

    fvc_visits = real[(real["measure"] == "FVC") & (real["month"] > 0)].groupby("patient_id")["visit"].agg(set)
    rows = []
    for pid in ids:
        v0 = float(day0[pid])
        prog = pid in progressors
        lo_d, hi_d = p.progressor_decline if prog else p.stable_decline
        hi_d = int(min(hi_d, hi - v0))
        decline = int(rng.integers(lo_d, hi_d + 1)) if hi_d >= lo_d else 0
        span = -visits[first_pre]
        rate = decline / span  # points per month before day 0
        # pre-treatment visits: linear from visit I (exact) to day 0, with noise between
        for v in pre_visits:
            mo = visits[v]
            if v == first_pre:
                val = v0 + decline
            else:
                val = v0 + rate * (-mo) + rng.normal(0, p.noise_sd)
            rows.append((pid, v, mo, val))
        if pid not in efficacy:
            continue
        slow = p.slowdown if prog else p.slowdown * p.stable_slowdown
        post_rate = rate if prog else rate + p.stable_extra_decline_per_month
        attended = fvc_visits.get(pid, set())
        for v, mo in visits.items():
            if mo > 0 and v in attended:
                change = p.cumulative_change(np.array([mo]), np.array([post_rate]), np.array([slow]))[0]
                rows.append((pid, v, mo, v0 + change + rng.normal(0, p.noise_sd)))
    out = pd.DataFrame(rows, columns=["patient_id", "visit", "month", "value"])
    out["value"] = out["value"].round().clip(MEASURES["ALSFRS"].low, hi)
    out["measure"] = "ALSFRS"
    out["source"] = SOURCES_SIMULATED
    out["simulated"] = True
    return out[["patient_id", "visit", "month", "measure", "value", "source", "simulated"]]


def replace_simulated_alsfrs(dataset: Dataset, params: AlsfrsSimulation | None = None) -> pd.DataFrame:
    """The dataset's measurements with every simulated ALSFRS row regenerated."""
    meas = dataset.measurements
    keep = meas[~(meas["simulated"] & (meas["measure"] == "ALSFRS"))]
    sim = simulate_alsfrs(dataset.__class__(**{**dataset.__dict__, "measurements": keep}), params)
    out = pd.concat([keep, sim.astype({"patient_id": "string", "visit": "string", "measure": "string", "source": "string"})], ignore_index=True)
    return out
