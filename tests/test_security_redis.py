"""#16, more than one server: two gunicorn instances sharing one Redis (DASHBOARD_REDIS_URL) behave as one
server for sessions, logout, the login throttle and the audit sequence.  The Redis is Debian's
redis-server (installed by tests/run.sh), started here on a free port, saving nothing."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys

import pytest

from tests.browser.conftest import REPO
from tests.security_helpers import http_request, login, make_users, start_redis, start_server, stop, wrong_login


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("redis")
    users = make_users(tmp / "users.txt", names=("alice", "bob", "carol"))
    redis_url, redis_proc = start_redis(tmp)
    env = {"DASHBOARD_USERS_FILE": str(users), "DASHBOARD_REDIS_URL": redis_url,
           "DASHBOARD_SECRET_KEY": secrets.token_hex(32)}
    procs = []
    try:
        a = start_server(tmp, "a", {**env, "DASHBOARD_AUDIT_LOG": str(tmp / "audit-a.jsonl")})
        procs.append(a[1])
        b = start_server(tmp, "b", {**env, "DASHBOARD_AUDIT_LOG": str(tmp / "audit-b.jsonl")})
        procs.append(b[1])
        yield a[0], b[0], tmp, redis_url, env
    finally:
        for p in procs:
            stop(p)
        stop(redis_proc)


def test_a_login_on_one_instance_works_on_the_other(pair):
    a, b, _tmp, _r, _env = pair
    cookie = login(a)
    assert cookie
    for url in (a, b, a, b):
        status, _h, body, _t = http_request(url, path="/_dash-layout", cookie=cookie)
        assert status == 200 and b"Patient" in body


def test_a_logout_on_one_instance_revokes_on_both(pair):
    a, b, _tmp, _r, _env = pair
    cookie = login(a, "bob")
    assert http_request(b, path="/_dash-layout", cookie=cookie)[0] == 200
    assert http_request(b, path="/logout", cookie=cookie)[0] == 303
    assert http_request(a, path="/_dash-layout", cookie=cookie)[0] == 401
    assert http_request(b, path="/_dash-layout", cookie=cookie)[0] == 401


def test_failed_logins_count_across_both(pair):
    a, b, _tmp, _r, _env = pair
    assert [wrong_login(url, "carol") for url in (a, b, a)] == [401, 401, 401]
    assert wrong_login(b, "carol") == 429  # the fourth, on the instance that saw only one
    assert wrong_login(a, "carol") == 429


def test_one_audit_sequence_for_both(pair):
    a, b, tmp, _r, _env = pair
    login(a, "alice")
    login(b, "alice")
    lines = [json.loads(x) for name in ("audit-a.jsonl", "audit-b.jsonl")
             for x in (tmp / name).read_text().splitlines()]
    seqs = sorted(x["seq"] for x in lines)
    assert len(lines) >= 6 and seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    assert {x["instance"].rsplit(":", 1)[1] for x in lines} and len({x["boot"] for x in lines}) == 2


def test_redis_needs_a_shared_secret_key_and_a_reachable_server(pair, tmp_path):
    _a, _b, _tmp, redis_url, env = pair
    code = "from dashboard.server import create_app_or_exit; create_app_or_exit()"
    for extra, message in [({"DASHBOARD_SECRET_KEY": ""}, "DASHBOARD_SECRET_KEY"),
                           ({"DASHBOARD_REDIS_URL": "redis://127.0.0.1:9/0"}, "shared store cannot be reached")]:
        e = {k: v for k, v in {**os.environ, **env, **extra}.items() if v}
        r = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=e, capture_output=True, text=True, timeout=120)
        assert r.returncode == 1 and "Refusing to start" in r.stderr and message in r.stderr, r.stderr[-1500:]
        assert "Traceback" not in r.stderr
