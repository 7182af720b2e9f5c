"""A minimal one-figure Dash app on a trial dataset: the yardstick of ``bench/draw.py``.

What someone would write in a few minutes with Dash and plotly express, and nothing else: one
``dcc.Checklist`` of sex (nothing ticked = everyone) and one ``dcc.Graph`` with ``px.line`` of the
functional scale (ALSFRS, else ALSFRS_R) per patient over months for the selected sex, titled with
"n = <patients>".  No validation, no caching, no dashboard code: pandas reads the dataset's CSV files.

``px.line(..., line_group="patient_id")`` makes one trace per patient: tens of seconds of plotly express at
10,000 patients.  ``MINIMAL_LINES=one-trace`` is the same figure as one trace, the patients' lines
separated by a row of NaN (plotly breaks a line there): the same app, written by someone who knows that.
Both leave px its default rendering: SVG up to 1,000 rows, WebGL (scattergl) above (the dashboard: SVG).

Served like the dashboard (``app.run``-free; 2 workers x 4 threads, gthread, the app loaded in the
master), e.g.::

    MINIMAL_DATA_DIR=data python -m gunicorn --workers 2 --threads 4 --worker-class gthread \\
        --preload --chdir bench minimal_app:server

``MINIMAL_DATA_DIR``: the dataset directory (default: the repository's ``data/``); ``MINIMAL_LINES``:
``per-patient`` (default) or ``one-trace``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import plotly.express as px
from dash import Dash, Input, Output, dcc, html

DATA_DIR = Path(os.environ.get("MINIMAL_DATA_DIR") or Path(__file__).resolve().parent.parent / "data")

patients = pd.read_csv(DATA_DIR / "patients.csv", dtype={"patient_id": str})
measurements = pd.read_csv(DATA_DIR / "measurements.csv", dtype={"patient_id": str})
MEASURE = "ALSFRS" if (measurements["measure"] == "ALSFRS").any() else "ALSFRS_R"
scores = (measurements[measurements["measure"] == MEASURE]
          .merge(patients[["patient_id", "sex"]], on="patient_id")
          .sort_values(["patient_id", "month"]))
ONE_TRACE = os.environ.get("MINIMAL_LINES", "per-patient") == "one-trace"
SEXES = sorted(patients["sex"].dropna().unique())

app = Dash(__name__, title="Minimal ALS app")
app.layout = html.Div([
    dcc.Checklist(id="sex", options=SEXES, value=[], inline=True),
    dcc.Graph(id="graph", style={"height": "600px"}),
])


@app.callback(Output("graph", "figure"), Input("sex", "value"))
def update(sex):
    sel = scores[scores["sex"].isin(sex)] if sex else scores
    n = sel["patient_id"].nunique()
    title, labels = f"{MEASURE} over time (n = {n})", {"value": MEASURE, "month": "Month"}
    if ONE_TRACE:
        gaps = sel.drop_duplicates("patient_id", keep="last").assign(month=float("nan"), value=float("nan"))
        lines = pd.concat([sel, gaps]).sort_values("patient_id", kind="stable")
        return px.line(lines, x="month", y="value", title=title, labels=labels)
    return px.line(sel, x="month", y="value", line_group="patient_id", title=title, labels=labels)


server = app.server
# Dash registers its script paths when it first serves the page, in the process that serves it
# (plotly/dash#3971): with 2 workers, a script asked of the other worker would answer 500.  Serve it once
# here, before gunicorn (--preload) forks: the dashboard does the same.
server.test_client().get("/")
