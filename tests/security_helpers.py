"""Helpers of the #16 hardening tests (tests/test_security_*.py): users files, servers, logins by hand."""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import time
import urllib.parse
from pathlib import Path

from tests.browser.conftest import free_port, start_gunicorn, stop, wait_http

PASSWORD = "correct horse battery"


def make_users(path: Path, names=("alice",), password: str = PASSWORD) -> Path:
    from dashboard.security import add_user

    for name in names:
        add_user(path, name, password)
    return path


def start_server(tmp: Path, name: str, env: dict) -> tuple[str, subprocess.Popen, Path]:
    """A gunicorn (dashboard/gunicorn_conf.py, 2 workers) on a free port; (url, process, log path)."""
    port = free_port()
    log = tmp / f"{name}.log"
    proc = start_gunicorn(port, extra_env={"DASHBOARD_ACCESS_LOG": "/dev/null", **env}, log_path=log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/healthz", timeout=60, proc=proc)
    except RuntimeError:
        stop(proc)
        raise RuntimeError(f"{name} did not start:\n{log.read_text()[-3000:]}") from None
    return url, proc, log


def http_request(url: str, method: str = "GET", path: str = "/", body: bytes | None = None, cookie: str | None = None,
                 form: bool = False, timeout: float = 10.0):
    """(status, headers as a list of pairs, body, seconds); never follows redirects."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    headers = {}
    if cookie:
        headers["Cookie"] = cookie
    if form:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    t = time.monotonic()
    try:
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        return r.status, r.getheaders(), data, time.monotonic() - t
    finally:
        conn.close()


def login(url: str, name: str = "alice", password: str = PASSWORD) -> str | None:
    """The ``session=...`` cookie of a successful login, else None."""
    body = urllib.parse.urlencode({"username": name, "password": password, "next": "/"}).encode()
    status, headers, _b, _t = http_request(url, "POST", "/login", body=body, form=True)
    if status != 303:
        return None
    for k, v in headers:
        if k.lower() == "set-cookie" and v.startswith("session="):
            return v.split(";", 1)[0]
    return None


def wrong_login(url: str, name: str, password: str = "wrong password", timeout: float = 30.0) -> int | None:
    body = urllib.parse.urlencode({"username": name, "password": password}).encode()
    try:
        return http_request(url, "POST", "/login", body=body, form=True, timeout=timeout)[0]
    except OSError:
        return None


def start_redis(tmp: Path):
    """A redis-server of Debian's package on a free port, saving nothing; (url, process)."""
    exe = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not os.path.exists(exe):
        raise RuntimeError("redis-server not found: run `bash tests/run.sh`, which installs Debian's redis-server")
    port = free_port()
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(tmp)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return f"redis://127.0.0.1:{port}/0", proc
        except OSError:
            time.sleep(0.1)
    stop(proc)
    raise RuntimeError("redis-server did not start")


__all__ = ["PASSWORD", "make_users", "start_server", "http_request", "login", "wrong_login", "start_redis", "stop"]
