"""The real gunicorn server: login on every route, security headers, hostile callback requests,
refusal to start unsafely, and a dataset directory that is never written."""

from __future__ import annotations

import hashlib
import http.cookiejar
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.browser.conftest import REPO, free_port, start_gunicorn, stop, wait_http

PASSWORD = "correct horse battery"


def request(url, data=None, headers=None, opener=None, method=None, timeout=10):
    """(status, headers, body) without raising on HTTP errors and without following redirects."""
    body = None
    if data is not None:
        body = data if isinstance(data, bytes) else json.dumps(data).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json", **(headers or {})},
                                 method=method)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None

    op = opener or urllib.request.build_opener(NoRedirect)
    try:
        with op.open(req, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def _snapshot(directory: Path) -> dict:
    return {p.name: (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(directory.iterdir())}


@pytest.fixture(scope="module")
def users_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("auth") / "users.txt"
    r = subprocess.run([sys.executable, "-m", "dashboard", "add-user", "alice", "--users-file", str(path)],
                       input=PASSWORD + "\n", capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stderr
    text = path.read_text()
    assert "alice:scrypt:" in text and PASSWORD not in text
    return path


@pytest.fixture(scope="module")
def auth_server(users_file, tmp_path_factory):
    port = free_port()
    proc = start_gunicorn(port, extra_env={"DASHBOARD_USERS_FILE": str(users_file)},
                          log_path=tmp_path_factory.mktemp("log") / "gunicorn.log")
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/healthz", proc=proc)
    yield url
    stop(proc)


@pytest.fixture(scope="module")
def readonly_data(tmp_path_factory):
    d = tmp_path_factory.mktemp("ro") / "data"
    shutil.copytree(REPO / "data", d)
    for p in [d, *d.iterdir()]:
        p.chmod(0o555 if p.is_dir() else 0o444)
    yield d
    for p in [d, *d.iterdir()]:
        p.chmod(0o755 if p.is_dir() else 0o644)


@pytest.fixture(scope="module")
def open_server(readonly_data, tmp_path_factory):
    """No users configured, serving a read-only copy of the data."""
    port = free_port()
    before = _snapshot(readonly_data)
    proc = start_gunicorn(port, data_dir=readonly_data, log_path=tmp_path_factory.mktemp("log") / "gunicorn.log")
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/", proc=proc)
    yield url, readonly_data, before
    stop(proc)


PROTECTED = ["/", "/?cohort=progressors", "/_dash-layout", "/_dash-dependencies", "/assets/style.css",
             "/assets/dashboard.js", "/_dash-component-suites/plotly/package_data/plotly.min.js", "/_favicon.ico"]


def test_every_route_is_closed_without_login(auth_server, shipped):
    for path in PROTECTED:
        status, headers, body = request(auth_server + path)
        assert status in (302, 401), path
        if status == 302:
            assert headers["Location"].startswith("/login?next=")
        text = body.decode(errors="replace")
        for leak in ("Patient", "patient_id", "ALSFRS", "Headache", shipped.short_hash):
            assert leak not in text, (path, leak)
    status, _h, body = request(auth_server + "/_dash-update-component",
                               data={"output": "cohort-count.children", "inputs": []})
    assert status == 401 and b"ALSFRS" not in body


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def test_wrong_password_is_refused_and_then_locked_at_once(auth_server):
    """Three failures per address and name are free; the fourth is refused at once (429, Retry-After),
    without the password being checked and without a thread sleeping."""
    form = urllib.parse.urlencode({"username": "alice-typo", "password": "wrong"}).encode()
    for _ in range(3):
        status, _h, body = request(auth_server + "/login", data=form, headers=FORM)
        assert status == 401 and b"Wrong user name or password" in body
    t = time.monotonic()
    status, headers, body = request(auth_server + "/login", data=form, headers=FORM)
    assert status == 429 and b"Too many failed sign-ins" in body and int(headers["Retry-After"]) >= 1
    assert time.monotonic() - t < 0.5
    # an unknown user gets the same answer as a known one
    form = urllib.parse.urlencode({"username": "mallory", "password": "x"}).encode()
    status, _h, body = request(auth_server + "/login", data=form, headers=FORM)
    assert status == 401 and b"Wrong user name or password" in body


def test_every_route_opens_after_login(auth_server):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    form = urllib.parse.urlencode({"username": "alice", "password": PASSWORD, "next": "/?tab=fvc"}).encode()
    status, headers, _b = request(auth_server + "/login", data=form, opener=opener,
                                  headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200  # the opener followed the 303 to /?tab=fvc
    cookie = [c for c in jar if c.name == "session"][0]
    assert cookie.has_nonstandard_attr("HttpOnly")
    for path in PROTECTED:
        status, _h, _b = request(auth_server + path, opener=opener)
        assert status == 200, path
    status, _h, body = request(auth_server + "/_dash-layout", opener=opener)
    assert b"Patient 7" in body
    request(auth_server + "/logout", opener=opener)
    status, _h, _b = request(auth_server + "/_dash-layout", opener=opener)
    assert status == 401


@pytest.mark.parametrize("target", ["//evil.example/x", "/\t/evil.example", "/\t\t/evil.example", "/\r\n/evil.example",
                                    "/\n//evil.example", "/\\evil.example", "https://evil.example/",
                                    "/\x0b/evil.example", "/ /evil.example"])
def test_login_does_not_redirect_off_site(auth_server, target):
    """#16 finding 6: ``next=/%09/evil.com`` passed the check and Werkzeug stripped the tab (``//evil.com``);
    finding 8: a newline in ``next`` was a 500 with a traceback."""
    jar = http.cookiejar.CookieJar()
    form = urllib.parse.urlencode({"username": "alice", "password": PASSWORD, "next": target}).encode()

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None

    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    status, headers, _b = request(auth_server + "/login", data=form, opener=opener, headers=FORM)
    assert status == 303 and headers["Location"] == "/", (target, status, headers.get("Location"))
    # the login page itself, with the same next in its address
    status, _h, body = request(auth_server + "/login?next=" + urllib.parse.quote(target, safe=""))
    assert status == 200 and b"evil.example" not in body, target


def test_unknown_component_suite_is_404_not_500(open_server):
    """#16 finding 8: an unknown /_dash-component-suites/<package>/... was a 500 with a traceback."""
    for path in ["/_dash-component-suites/nosuchpackage/x.js", "/_dash-component-suites/dash/no/such/file.js",
                 "/_dash-component-suites/os/x.js"]:
        status, _h, body = request(open_server[0] + path)
        assert status == 404, (path, status)
        assert b"Traceback" not in body


UNFINGERPRINTED = ["/_dash-component-suites/plotly/package_data/plotly.min.js",
                   "/_dash-component-suites/dash/dcc/async-graph.js"]


def test_unchanged_suite_files_get_304_without_being_read_again(shipped, monkeypatch):
    """plotly.js and dcc's lazy chunks have no fingerprint in their names, so the browser revalidates them on
    every page load; the answer 304 comes from the ETag computed at start, without Dash reading and hashing
    the file again (4.8 MB for plotly.js).  Another tag, or none, gets the file from Dash as before."""
    import pkgutil

    from dashboard.server import create_app

    client = create_app(dataset=shipped).server.test_client()
    for path in UNFINGERPRINTED:
        first = client.get(path)
        assert first.status_code == 200 and len(first.data) > 1000
        tag = first.headers["ETag"]
        with monkeypatch.context() as m:
            m.setattr(pkgutil, "get_data", lambda *a, **k: pytest.fail("read again"))
            again = client.get(path, headers={"If-None-Match": tag})
        assert again.status_code == 304 and again.data == b""
        other = client.get(path, headers={"If-None-Match": '"0123"'})
        assert other.status_code == 200 and other.data == first.data


def test_unchanged_suite_files_are_refused_without_a_session(auth_server, open_server):
    """The early 304 is given after the login check: without a session the answer is a refusal."""
    for path in UNFINGERPRINTED:
        status, headers, _body = request(open_server[0] + path)
        assert status == 200
        status, _h, body = request(open_server[0] + path, headers={"If-None-Match": headers["ETag"]})
        assert status == 304 and body == b""
        status, _h, _body = request(auth_server + path, headers={"If-None-Match": headers["ETag"]})
        assert status in (302, 401)


def test_request_id_is_made_by_the_server(auth_server):
    """#16 finding 10: the client chose X-Request-Id, and it was logged."""
    import re

    for sent in ["attacker-chosen", "x" * 60, "a\u2028b"]:
        raw = sent.encode("utf-8").decode("latin-1")
        status, headers, _b = request(auth_server + "/healthz", headers={"X-Request-Id": raw})
        assert status == 200
        assert headers["X-Request-Id"] != sent and re.fullmatch(r"[0-9a-f]{16}", headers["X-Request-Id"])


def _refused(proc, log_path) -> str:
    """Wait up to 60 s for a server that must refuse to start; its log (the test fails if it kept running
    or exited 0)."""
    try:
        rc = proc.wait(60)
    except subprocess.TimeoutExpired:
        rc = None
    finally:
        stop(proc)
    log = log_path.read_text()
    assert rc not in (None, 0), log[-2000:]
    return log


def test_gunicorn_without_the_configuration_refuses_to_start(tmp_path):
    """#16 finding 4: ``gunicorn -b 0.0.0.0:PORT app:server`` (no config: no preload, no bind check) served
    the data to the network with no users and no warning."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DASHBOARD_", "TRIAL_DATA_DIR"))}
    with open(tmp_path / "log.txt", "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-b", f"0.0.0.0:{port}", "app:server"], cwd=REPO,
                                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log = _refused(proc, tmp_path / "log.txt")
    assert "without the dashboard's configuration" in log and "gunicorn -c dashboard/gunicorn_conf.py" in log


def test_gunicorn_control_socket_is_disabled(tmp_path):
    """#16 finding 10: gunicorn's control socket ($XDG_RUNTIME_DIR/gunicorn.ctl) was shared by every
    gunicorn of the user."""
    port = free_port()
    (tmp_path / "run").mkdir(mode=0o700)
    proc = start_gunicorn(port, extra_env={"HOME": str(tmp_path), "XDG_RUNTIME_DIR": str(tmp_path / "run")},
                          log_path=tmp_path / "log.txt")
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", proc=proc)
        time.sleep(0.5)
        sockets = list(tmp_path.rglob("*.ctl"))
    finally:
        stop(proc)
    assert sockets == []


@pytest.mark.parametrize("key", ["changeme", "changeme-changeme-changeme-changeme"])
def test_weak_secret_keys_are_refused(tmp_path, key):
    """#16 finding 10: DASHBOARD_SECRET_KEY=changeme was accepted."""
    port = free_port()
    proc = start_gunicorn(port, extra_env={"DASHBOARD_SECRET_KEY": key}, log_path=tmp_path / "log.txt")
    log = _refused(proc, tmp_path / "log.txt")
    assert "Refusing to start" in log and "DASHBOARD_SECRET_KEY" in log and "Traceback" not in log


@pytest.mark.parametrize("path", ["/", "/_dash-layout", "/assets/style.css", "/login", "/nonexistent"])
def test_security_headers_on_every_response(auth_server, open_server, path):
    for base in (auth_server, open_server[0]):
        status, h, _b = request(base + path)
        csp = h["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";", 1)[0]
        assert h["X-Content-Type-Options"] == "nosniff"
        assert h["X-Frame-Options"] == "DENY"
        assert h["Referrer-Policy"] == "no-referrer"
        assert "/" not in (h.get("Server") or "")  # no version banner
        assert h["X-Request-Id"]


def _callback_payloads(base):
    status, _h, body = request(base + "/_dash-dependencies")
    assert status == 200
    return json.loads(body)


def _payload(dep, values):
    outputs = dep["output"]
    if outputs.startswith(".."):
        outs = [dict(zip(("id", "property"), o.split(".", 1))) for o in outputs.strip(".").split("...")]
    else:
        outs = dict(zip(("id", "property"), outputs.split("@")[0].split(".", 1)))
    inputs = [{**i, "value": values.get(i["id"])} for i in dep["inputs"]]
    state = [{**s, "value": values.get(s["id"])} for s in dep["state"]]
    return {"output": outputs, "outputs": outs, "inputs": inputs, "state": state,
            "changedPropIds": [f"{dep['inputs'][0]['id']}.{dep['inputs'][0]['property']}"]}


HOSTILE_VALUES = [
    {},  # everything None
    {"filter-store": "not a dict", "tabs": 12, "highlight": ["x"], "population": {"a": 1}, "threshold": "abc"},
    {"filter-store": {"cohort": "x" * 100_000, "patients": ",".join(str(i) for i in range(50_000))}, "tabs": "alsfrs"},
    {"filter-store": {"age_min": "1e308", "age_max": "-1e308", "threshold": "nan"}, "tabs": "overview"},
    {"patient-picker": list(range(10_000)), "range-age": ["a", None, 5], "sex": "FM", "onset": [None, 1],
     "tabs": "fvc"},
    {"highlight": "../../etc/passwd", "tabs": "profile", "alsfrs-window": -1e9, "fvc-threshold": 1e300,
     "ws-threshold": -5},
    {"url": "?" + "cohort=stable&" * 3000, "tabs": "safety", "ae-colour-by": "<script>", "ae-only": "serious"},
    {"alsfrs-spaghetti": {"points": [{"customdata": [[["deep"]]]}]}, "ae-heatmap": {"points": "x"}},
]


def test_hostile_callback_requests_get_clean_answers(open_server):
    base = open_server[0]
    deps = _callback_payloads(base)
    assert len(deps) >= 10
    for dep in deps:
        for values in HOSTILE_VALUES:
            t = time.monotonic()
            status, _h, body = request(base + "/_dash-update-component", data=_payload(dep, values), timeout=30)
            elapsed = time.monotonic() - t
            text = body.decode(errors="replace")
            assert status in (200, 204, 400), (dep["output"][:60], values, status, text[:300])
            assert "Traceback" not in text and 'File "' not in text
            assert elapsed < 5, (dep["output"][:60], elapsed)
    # not JSON at all, and an oversized body
    status, _h, body = request(base + "/_dash-update-component", data=b"\x00\xffnot json")
    assert status == 400 and b"Traceback" not in body
    status, _h, body = request(base + "/_dash-update-component", data=b"x" * (3 * 1024 * 1024))
    assert status == 413


def test_hostile_urls_get_the_page(open_server):
    base = open_server[0]
    for q in ["?cohort=%00", "?patients=" + ",".join(map(str, range(900))), "?age_min=abc&age_max=-inf",
              "?tab=<script>alert(1)</script>"]:
        status, _h, body = request(base + "/" + q)
        assert status == 200 and b"Traceback" not in body
    # gunicorn caps the request line (4094 bytes): a longer address is refused cleanly
    status, _h, body = request(base + "/?patients=" + ",".join(map(str, range(20000))))
    assert status == 414 and b"Traceback" not in body


def test_the_dataset_directory_is_never_written(open_server):
    base, directory, before = open_server
    deps = _callback_payloads(base)
    for dep in deps:  # exercise every callback once with sane values, downloads included
        values = {"tabs": "alsfrs", "filter-store": {}, "download-report": 1}
        request(base + "/_dash-update-component", data=_payload(dep, values), timeout=60)
    assert _snapshot(directory) == before
    assert sorted(p.name for p in directory.iterdir()) == sorted(before)


def test_refuses_to_listen_beyond_loopback_without_users(tmp_path):
    port = free_port()
    proc = start_gunicorn(port, extra_env={"DASHBOARD_BIND": f"0.0.0.0:{port}"}, log_path=tmp_path / "log.txt")
    assert proc.wait(60) != 0
    log = (tmp_path / "log.txt").read_text()
    assert "refusing to listen on 0.0.0.0" in log and "Traceback" not in log


def test_protected_elsewhere_flag_allows_other_addresses(tmp_path):
    port = free_port()
    proc = start_gunicorn(port, extra_env={"DASHBOARD_BIND": f"0.0.0.0:{port}", "DASHBOARD_PROTECTED_ELSEWHERE": "1"},
                          log_path=tmp_path / "log.txt")
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", proc=proc)
    finally:
        stop(proc)


def test_refuses_to_start_on_an_invalid_dataset(tmp_path):
    d = tmp_path / "bad"
    shutil.copytree(REPO / "data", d)
    (d / "patients.csv").write_text((d / "patients.csv").read_text().replace("61,F,", "611,F,", 1))
    port = free_port()
    proc = start_gunicorn(port, data_dir=d, log_path=tmp_path / "log.txt")
    assert proc.wait(60) != 0
    log = (tmp_path / "log.txt").read_text()
    assert "patients.csv:2: age: 611 is out of range 0-120" in log
    assert "Traceback" not in log
