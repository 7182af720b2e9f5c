"""Simulated data: ALSFRS trajectories for the shipped dataset, and whole
synthetic trials for benchmarks and tests.

The paper prints ALSFRS only at day 0 (Table 2).  The dashboard's core views
need trajectories, so the shipped dataset carries *simulated* ALSFRS values
at the other visits, every one with ``source = simulated``.  The model and
its parameters are here, in :class:`AlsfrsSimulation`, and described in
``data/README.md``.  ``python -m dashboard simulate-alsfrs`` rewrites exactly
the committed rows.

:func:`synthetic_trial` makes a whole trial of any size in the shipped
dataset's format (every measurement ``source = simulated``), for benchmarks
and tests; :func:`write_trial` writes it as a dataset directory
(``python -m dashboard generate``).  Its parameters are in
:class:`TrialSimulation`.

No Dash import; nothing here runs at import time.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .data import (
    DAYS_PER_MONTH,
    DEFAULT_DATA_DIR,
    MEASURES,
    ONSETS,
    SCHEMA,
    SOURCES_SIMULATED,
    WS_MEASURES,
    Dataset,
    columns_of,
    format_number,
    load_dataset,
    sort_patient_ids,
    write_measurements,
)


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
        raise ValueError(f"only {len(eligible)} efficacy patients can fall {p.progressor_decline[0]} points "
                         f"within 0-{hi:g}")
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
    out = pd.concat([keep, sim.astype({"patient_id": "string", "visit": "string", "measure": "string",
                                       "source": "string"})], ignore_index=True)
    return out


# ---------------------------------------------------------------- whole synthetic trials


@dataclass(frozen=True)
class TrialSimulation:
    """Every parameter of :func:`synthetic_trial`, in one place.

    The visit schedule, which measure is taken at which visit, and the
    adverse-event terms are those of the shipped dataset; the rest is here.
    ALSFRS follows :class:`AlsfrsSimulation` (``alsfrs``).
    """

    #: Share of the (all-safety) patients in the efficacy population.
    efficacy_share: float = 0.9
    #: Share of the efficacy patients simulated as progressors.
    progressor_share: float = 0.5
    #: Share of the patients that are women.
    female_share: float = 0.45
    #: Share of the patients with spinal+bulbar onset (the rest spinal).
    bulbar_share: float = 0.5
    #: Age in years: normal (mean, SD), clipped to (min, max), whole years.
    age: tuple[float, float, float, float] = (51.0, 8.7, 25.0, 80.0)
    #: Disease duration in months: log-normal with this median and log-SD, clipped, whole months.
    duration: tuple[float, float, float, float] = (32.0, 0.55, 3.0, 240.0)
    #: Share of each optional patient attribute left empty (age, sex, onset, duration, MRI).
    attribute_missing_share: float = 0.01
    #: Share of efficacy patients whose 12-month MRI was not done.
    mri_missing_share: float = 0.2
    #: ALSFRS at day 0: normal (mean, SD), rounded, clipped to (min, max).
    alsfrs_day0: tuple[float, float, float, float] = (29.5, 5.0, 8.0, 38.0)
    #: FVC (% predicted) at visit III: normal (mean, SD), clipped to (min, max).
    fvc_baseline: tuple[float, float, float, float] = (89.0, 12.0, 45.0, 130.0)
    #: FVC fall per month after day 0: progressors, stable; each patient's rate is normal around it (SD below).
    fvc_decline_per_month: tuple[float, float] = (1.2, 0.6)
    fvc_decline_sd: float = 0.5
    fvc_noise_sd: float = 4.0
    #: Weakness score at visit III: normal (mean, SD) per patient, limb SD around it; clipped 0.5-5, 1 decimal.
    ws_baseline: tuple[float, float] = (3.8, 1.0)
    ws_limb_sd: float = 0.5
    #: Weakness-score fall per month after visit III: progressors, stable (per patient, SD below).
    ws_decline_per_month: tuple[float, float] = (0.08, 0.04)
    ws_decline_sd: float = 0.03
    ws_noise_sd: float = 0.15
    #: Probability that an efficacy patient is still followed at each post-treatment visit (VIII, IX, X, XI, XII):
    #: one uniform draw per patient, who drops out after the last visit whose probability exceeds it.
    attendance: tuple[float, ...] = (0.96, 0.93, 0.85, 0.8, 0.5)
    #: Share of the remaining single values missing at random (never the day-0 ALSFRS).
    value_missing_share: float = 0.02
    #: Adverse events per patient (Poisson mean); each copies a random event of the shipped data.
    ae_per_patient: float = 0.7
    #: The ALSFRS trajectory model (slow-down after day 0, noise, pre-treatment falls).
    alsfrs: AlsfrsSimulation = AlsfrsSimulation()
    #: Treatment arms of a randomised trial, the control first; empty: a single-arm trial (no ``arm``, ``died``
    #: or ``death_day`` column).  Patients are randomised in equal numbers (up to one) to the arms.
    arms: tuple[str, ...] = ()
    #: The true treatment effect on the ALSFRS slope after day 0: every arm but the control declines this many
    #: points per month less (added to the simulated value before rounding, so values stay whole and in range).
    slope_effect: float = 0.0
    #: The true hazard ratio of death (every arm but the control vs the control).
    hazard_ratio: float = 1.0
    #: The control arm's hazard of death per month after day 0 (exponential; 0.025: median survival 28 months).
    death_hazard_per_month: float = 0.025


@functools.lru_cache(maxsize=1)
def _shipped() -> Dataset:
    return load_dataset(DEFAULT_DATA_DIR)


def _schedule(shipped: Dataset) -> dict[str, list[str]]:
    """The visits at which the shipped data holds each measure, in time order."""
    m = shipped.measurements
    order = list(shipped.visits["visit"])
    out = {}
    for meas in MEASURES:
        present = set(m.loc[m["measure"] == meas, "visit"])
        out[meas] = [v for v in order if v in present]
    out["ALSFRS"] = order  # all visits
    return out


def synthetic_trial(n_patients: int, seed: int = 0, params: TrialSimulation | None = None) -> dict[str, pd.DataFrame]:
    """A synthetic trial of ``n_patients`` in the dataset format: tables ``patients``,
    ``measurements``, ``adverse_events`` and ``visits``, with exactly the CSV columns.

    Patient ids are "1".."N", everyone is in the safety population and about
    90 % in the efficacy population.  ALSFRS is taken at every visit, FVC and
    the weakness scores at the visits where the shipped data has them;
    patients outside the efficacy population have values up to day 0 only,
    and no weakness scores (as in the shipped data).  Efficacy patients drop
    out after a random visit (``attendance``) and single values are missing
    at random.  About half the efficacy patients are progressors.  Every
    measurement is ``source = simulated``.  Vectorised: 10,000 patients take
    well under a second.  The same ``seed`` gives the same tables.

    With ``params.arms`` it is a randomised trial: ``patients`` gains ``arm`` (equal numbers per arm, the
    control first), ``died`` and ``death_day``; the arms other than the control decline
    ``params.slope_effect`` ALSFRS points a month less after day 0 and die at ``params.hazard_ratio`` times the
    control's hazard (exponential, ``death_hazard_per_month``).  A death is recorded when it falls on or before
    the patient's last scheduled visit, and the patient has no value from that day on; the simulated adverse
    events then carry no Death (deaths are in the patients table).  Without arms the tables are exactly those of
    a trial generated before arms existed.
    """
    n = int(n_patients)
    if n < 1:
        raise ValueError("a trial needs at least 1 patient")
    p = params or TrialSimulation()
    a = p.alsfrs
    rng = np.random.default_rng(seed)
    shipped = _shipped()
    visits = shipped.visits
    vnames = visits["visit"].to_numpy(dtype=object)
    vmonths = visits["month"].to_numpy(dtype=float)
    schedule = _schedule(shipped)
    post_idx = np.flatnonzero(vmonths > 0)
    if len(p.attendance) != len(post_idx):
        raise ValueError(f"attendance needs one probability per post-treatment visit ({len(post_idx)})")
    first_pre = float(vmonths.min())  # visit I
    if p.arms and (len(p.arms) < 2 or len(set(p.arms)) != len(p.arms)):
        raise ValueError(f"a randomised trial needs 2 or more distinct arms, not {list(p.arms)}")
    if p.hazard_ratio <= 0:
        raise ValueError("the hazard ratio must be positive")
    # the randomisation and the deaths draw from a generator of their own, so that a trial without arms is the
    # same, value for value, as before arms existed
    arm_rng = np.random.default_rng([seed, 13]) if p.arms else None
    arm_index = arm_rng.permutation(np.resize(np.arange(len(p.arms)), n)) if p.arms else np.zeros(n, dtype=int)
    treated = arm_index > 0

    # ---- patients
    ids = np.array([str(i) for i in range(1, n + 1)], dtype=object)
    efficacy = rng.random(n) < p.efficacy_share
    progressor = efficacy & (rng.random(n) < p.progressor_share)

    def miss(k=n):
        return rng.random(k) < p.attribute_missing_share

    mu, sd, lo, hi = p.age
    age = np.clip(np.rint(rng.normal(mu, sd, n)), lo, hi)
    med, lsd, lo, hi = p.duration
    duration = np.clip(np.rint(med * np.exp(rng.normal(0, lsd, n))), lo, hi)
    sex = np.where(rng.random(n) < p.female_share, "F", "M").astype(object)
    onset = np.where(rng.random(n) < p.bulbar_share, ONSETS[1], ONSETS[0]).astype(object)
    mri = np.where(efficacy, rng.random(n) >= p.mri_missing_share, rng.random(n) < 0.5).astype(object)
    reasons = shipped.patients["exclusion_reason"].dropna().unique()
    exclusion = np.where(efficacy, None, rng.choice(np.asarray(reasons, dtype=object), n)).astype(object)
    age_col = pd.array(np.where(miss(), np.nan, age), dtype="Int64")
    duration_col = np.where(miss(), np.nan, duration)
    sex[miss()] = None
    onset[miss()] = None
    mri[miss()] = None
    patients = pd.DataFrame({
        "patient_id": ids,
        "age": age_col,
        "sex": sex,
        "onset": onset,
        "disease_duration_months": duration_col,
        "safety_population": np.ones(n, dtype=bool),
        "efficacy_population": efficacy,
        "mri_12m_done": mri,
        "exclusion_reason": exclusion,
    })

    # ---- attendance: the index (into visits) of each patient's last visit
    day0_idx = int(np.flatnonzero(vmonths == 0)[0])
    u = rng.random(n)
    reached = (u[:, None] < np.asarray(p.attendance)[None, :]).sum(axis=1)  # attendance is decreasing
    last_visit = np.where(efficacy, np.where(reached > 0, post_idx[np.maximum(reached - 1, 0)], day0_idx), day0_idx)

    # ---- ALSFRS: per patient pre-treatment fall from visit I to day 0, then the slow-down model
    mu, sd, lo, hi = p.alsfrs_day0
    top = MEASURES["ALSFRS"].high
    day0 = np.clip(np.rint(rng.normal(mu, sd, n)), lo, min(hi, top - a.progressor_decline[0]))
    d_lo = np.where(progressor, a.progressor_decline[0], a.stable_decline[0])
    d_hi = np.where(progressor, a.progressor_decline[1], a.stable_decline[1])
    d_hi = np.minimum(d_hi, top - day0)
    decline = d_lo + np.floor(rng.random(n) * (d_hi - d_lo + 1))
    rate = decline / -first_pre
    slow = np.where(progressor, a.slowdown, a.slowdown * a.stable_slowdown)
    post_rate = np.where(progressor, rate, rate + a.stable_extra_decline_per_month)

    # FVC and WS per-patient parameters
    mu, sd, lo, hi = p.fvc_baseline
    fvc0 = np.clip(rng.normal(mu, sd, n), lo, hi)
    fvc_rate = np.clip(rng.normal(np.where(progressor, *p.fvc_decline_per_month), p.fvc_decline_sd), 0, None)
    ws_patient = rng.normal(p.ws_baseline[0], p.ws_baseline[1], n)
    ws0 = np.clip(ws_patient[:, None] + rng.normal(0, p.ws_limb_sd, (n, len(WS_MEASURES))), 0.5, 5)
    ws_rate = np.clip(rng.normal(np.where(progressor, *p.ws_decline_per_month), p.ws_decline_sd), 0, None)
    ws_start = float(vmonths[vnames == schedule[WS_MEASURES[0]][0]][0]) if schedule[WS_MEASURES[0]] else 0.0

    parts = []
    for meas in MEASURES:
        vis = [int(np.flatnonzero(vnames == v)[0]) for v in schedule.get(meas, [])]
        if not vis:
            continue
        vis = np.asarray(vis)
        t = vmonths[vis][None, :]  # 1 x V
        if meas == "ALSFRS":
            pre = day0[:, None] + rate[:, None] * (-t)
            post = day0[:, None] + a.cumulative_change(np.broadcast_to(t, (n, len(vis))), post_rate[:, None],
                                                       slow[:, None])
            val = np.where(t < 0, pre, post) + rng.normal(0, a.noise_sd, (n, len(vis)))
            exact = (t == first_pre) | (t == 0)  # the two visits that define progression carry no noise
            val = np.where(exact, np.where(t == 0, day0[:, None], (day0 + decline)[:, None]), val)
            if p.arms and p.slope_effect:
                val = val + np.where(treated, p.slope_effect, 0.0)[:, None] * np.clip(t, 0, None)
            val = np.clip(np.rint(val), MEASURES[meas].low, MEASURES[meas].high)
        elif meas == "FVC":
            val = fvc0[:, None] - fvc_rate[:, None] * np.clip(t, 0, None) + rng.normal(0, p.fvc_noise_sd, (n, len(vis)))
            val = np.clip(np.rint(val), MEASURES[meas].low, MEASURES[meas].high)
        else:
            k = WS_MEASURES.index(meas)
            since = np.clip(t - ws_start, 0, None)
            val = (ws0[:, k][:, None] - ws_rate[:, None] * since
                   + rng.normal(0, p.ws_noise_sd, (n, len(vis))) * (since > 0))
            val = np.clip(np.round(val, 1), MEASURES[meas].low, MEASURES[meas].high)
        present = vis[None, :] <= last_visit[:, None]
        if meas in WS_MEASURES:
            present &= efficacy[:, None]
        keep_anyway = (t == 0) & (meas == "ALSFRS")
        present &= (rng.random((n, len(vis))) >= p.value_missing_share) | keep_anyway
        pi, vi = np.nonzero(present)
        parts.append(pd.DataFrame({
            "patient_id": ids[pi],
            "visit": vnames[vis[vi]],
            "month": vmonths[vis[vi]],
            "measure": meas,
            "value": val[pi, vi] + 0.0,  # no negative zeros
        }))
    measurements = pd.concat(parts, ignore_index=True)
    if p.arms:
        # deaths after day 0: exponential, the control's hazard times the hazard ratio in the other arms; a death is
        # recorded only up to the patient's last scheduled visit (later, the patient is lost to follow-up, and
        # censored at the last visit); no value after the day of death
        rate = p.death_hazard_per_month * np.where(treated, p.hazard_ratio, 1.0)
        death_month = arm_rng.exponential(1.0 / rate)
        death_day = np.floor(death_month * DAYS_PER_MONTH) + 1
        died = death_day <= vmonths[last_visit] * DAYS_PER_MONTH
        row = pd.Index(ids).get_indexer(measurements["patient_id"])
        after = died[row] & (measurements["month"].to_numpy() * DAYS_PER_MONTH >= death_day[row])
        measurements = measurements[~after].reset_index(drop=True)
        patients["arm"] = np.asarray(p.arms, dtype=object)[arm_index]
        patients["died"] = died
        patients["death_day"] = pd.array(np.where(died, death_day, np.nan), dtype="Int64")
    measurements["source"] = SOURCES_SIMULATED
    order = np.lexsort((measurements["measure"].map({m: i for i, m in enumerate(MEASURES)}).to_numpy(),
                        measurements["month"].to_numpy(),
                        measurements["patient_id"].astype(int).to_numpy()))
    measurements = measurements.iloc[order].reset_index(drop=True)

    # ---- adverse events: copies of the shipped events, at most one death per patient
    templates = shipped.adverse_events.reset_index(drop=True)
    counts = rng.poisson(p.ae_per_patient, n)
    who = np.repeat(np.arange(n), counts)
    pick = rng.integers(0, len(templates), len(who))
    death = (templates["severity"] == "Death").to_numpy()
    if p.arms and (~death).any():
        # deaths are in the patients table (died, death_day): no adverse event of severity Death
        alive = np.flatnonzero(~death)
        pick = np.where(death[pick], alive[arm_rng.integers(0, len(alive), len(pick))], pick)
    elif death.any() and (~death).any():
        is_death = death[pick]
        nth = pd.Series(is_death.astype(int)).groupby(who).cumsum().to_numpy()
        again = is_death & (nth > 1)
        alive = np.flatnonzero(~death)
        pick[again] = alive[rng.integers(0, len(alive), int(again.sum()))]
    ae_cols = [c.name for c in SCHEMA["adverse_events.csv"]]
    adverse_events = templates.iloc[pick][ae_cols[1:]].reset_index(drop=True)
    adverse_events.insert(0, "patient_id", ids[who])

    visit_cols = [c.name for c in SCHEMA["visits.csv"]]
    return {
        "patients": patients,
        "measurements": measurements,
        "adverse_events": adverse_events,
        "visits": visits[visit_cols].reset_index(drop=True),
    }


def _cell(v) -> str:
    """One CSV cell in the dataset format: booleans true/false, numbers shortest, missing empty."""
    if v is None or v is pd.NA:
        return ""
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return "" if math.isnan(v) else format_number(float(v))
    return str(v)


def _write_csv(path: Path, columns: list[str], frame: pd.DataFrame) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for row in frame[columns].itertuples(index=False, name=None):
        w.writerow([_cell(v) for v in row])
    path.write_text(buf.getvalue(), encoding="utf-8", newline="")


def write_trial(tables: dict[str, pd.DataFrame], directory: str | os.PathLike, metadata: dict | None = None) -> Path:
    """Write ``tables`` (as from :func:`synthetic_trial`) as the four CSV files of a dataset directory.

    The canonical format: the columns in data dictionary order, ``\\n`` line
    endings, booleans ``true``/``false``, missing values empty, numbers in
    their shortest form; measurements through :func:`data.write_measurements`
    (canonical order).  The directory is created if needed; ``metadata``, if
    given, is written as ``metadata.json``.  Returns the directory.
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    for name in ("patients", "adverse_events", "visits"):
        # the optional columns (a randomised trial's arm, died, death_day) where the table has them
        cols = [c.name for c in columns_of(f"{name}.csv") if c.name in tables[name].columns or not c.optional]
        _write_csv(out / f"{name}.csv", cols, tables[name])
    write_measurements(tables["measurements"], tables["visits"], out / "measurements.csv")
    if metadata is not None:
        (out / "metadata.json").write_text(json.dumps(metadata, indent=1) + "\n", encoding="utf-8")
    return out
