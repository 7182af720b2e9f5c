"""Access control and hardening of the Flask server under the Dash app.

- Optional login: when ``DASHBOARD_USERS_FILE`` names a credentials file
  (``name:hash`` lines; salted scrypt hashes made by ``python -m dashboard
  add-user``), every route, Dash's own included, needs a signed session
  cookie, obtained on ``/login``.  Without it: a redirect to the login page for
  a page, 401 for anything else, and no data.  Passwords are compared in
  constant time, unknown users cost the same as known ones, and repeated
  failures are slowed down.
- Security headers on every response (CSP with the hashes of Dash's inline
  scripts, nosniff, frame-ancestors / X-Frame-Options, Referrer-Policy).
- Errors never reach a client as tracebacks: they are logged with a request
  id, which the client gets to quote.
"""

from __future__ import annotations

import functools
import html
import logging
import os
import secrets
import time
import uuid
from pathlib import Path

from flask import Flask, Response, g, jsonify, redirect, request, session
from werkzeug.exceptions import HTTPException
from werkzeug.security import check_password_hash, generate_password_hash

log = logging.getLogger("dashboard")

USERS_ENV = "DASHBOARD_USERS_FILE"
SECRET_ENV = "DASHBOARD_SECRET_KEY"
PROTECTED_ENV = "DASHBOARD_PROTECTED_ELSEWHERE"
USER_RE = r"^[A-Za-z0-9._@-]{1,64}$"
#: Request bodies larger than this are refused (Dash's own requests here are a few kB).
MAX_CONTENT_LENGTH = 2 * 1024 * 1024


@functools.cache
def _dummy_hash() -> str:
    """A hash compared when the user is unknown, so that failing costs the same either way (made only when
    login is on: scrypt takes 70 ms, which a start-up without login need not pay)."""
    return generate_password_hash("not a password", method="scrypt")


PUBLIC_PATHS = ("/login", "/logout", "/healthz")


class UsersFileError(ValueError):
    pass


# ---------------------------------------------------------------- credentials


def read_users(path: str | os.PathLike) -> dict[str, str]:
    """``name:hash`` lines; blank lines and ``#`` comments ignored."""
    import re

    users: dict[str, str] = {}
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsersFileError(f"{p}: cannot be read: {exc.strerror or exc}") from exc
    for i, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, hashed = line.partition(":")
        if not sep or not re.match(USER_RE, name) or not hashed.startswith(("scrypt:", "pbkdf2:")):
            raise UsersFileError(f"{p}:{i}: expected 'name:hash' with a hash made by 'python -m dashboard add-user'")
        users[name] = hashed
    return users


def add_user(path: str | os.PathLike, name: str, password: str) -> bool:
    """Add or replace a user; return True if the user was new."""
    import re

    if not re.match(USER_RE, name):
        raise UsersFileError(f"invalid user name {name!r} (letters, digits, . _ @ -; at most 64)")
    if len(password) < 8:
        raise UsersFileError("the password must have at least 8 characters")
    p = Path(path)
    users = read_users(p) if p.exists() else {}
    new = name not in users
    users[name] = generate_password_hash(password, method="scrypt")
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text("# users of the ALS trial dashboard: name:salted scrypt hash\n"
                   + "".join(f"{n}:{h}\n" for n, h in users.items()), encoding="utf-8")
    os.chmod(tmp, 0o600)
    tmp.replace(p)
    return new


class _Throttle:
    """Slows down repeated failed logins per client address and user name.

    The counts live in an anonymous shared memory map created before gunicorn
    forks its workers (preload_app), so every worker sees every failure; a
    collision of two keys in one slot only makes both slower.  Bounded: a
    fixed number of slots.
    """

    SLOTS = 4096

    def __init__(self):
        import mmap
        import multiprocessing

        self._mem = mmap.mmap(-1, self.SLOTS * 16)  # shared with forked children (MAP_SHARED | MAP_ANONYMOUS)
        self._lock = multiprocessing.Lock()

    def _slot(self, key) -> int:
        import hashlib

        digest = hashlib.blake2b("\x00".join(key).encode(), digest_size=8).digest()
        return int.from_bytes(digest, "little") % self.SLOTS * 16

    def _get(self, off) -> tuple[int, float]:
        import struct

        n, last_ms = struct.unpack_from("<qq", self._mem, off)
        return n, last_ms / 1000.0

    def _set(self, off, n, last):
        import struct

        struct.pack_into("<qq", self._mem, off, n, int(last * 1000))

    def delay(self, key) -> float:
        with self._lock:
            n, last = self._get(self._slot(key))
        if time.time() - last > 900:
            n = 0
        return 0.0 if n < 3 else min(0.5 * 2 ** (n - 3), 8.0)

    def failed(self, key):
        off = self._slot(key)
        with self._lock:
            n, last = self._get(off)
            if time.time() - last > 900:
                n = 0
            self._set(off, n + 1, time.time())

    def succeeded(self, key):
        with self._lock:
            self._set(self._slot(key), 0, 0.0)


def check_password(users: dict[str, str], name: str, password: str) -> bool:
    hashed = users.get(name)
    ok = check_password_hash(hashed or _dummy_hash(), password)
    return bool(hashed) and ok


LOGIN_PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Sign in — ALS trial dashboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;background:#f6f8fa;color:#1f2328;display:flex;justify-content:center;padding-top:10vh}}
form{{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:24px 28px;width:320px}}label{{display:block;font-weight:600;margin:12px 0 4px}}
input{{width:100%;padding:6px 8px;font-size:1rem;border:1px solid #8c959f;border-radius:4px;box-sizing:border-box}}
button{{margin-top:16px;background:#0072b2;color:#fff;border:1px solid #005a8c;border-radius:5px;padding:8px 14px;font-size:1rem}}
:focus-visible{{outline:3px solid #d55e00;outline-offset:2px}}.err{{color:#8a2a00;background:#fff4d6;padding:6px 8px;border-radius:4px}}</style></head>
<body><form method="post" action="{action}"><h1 style="font-size:1.2rem;margin:0">ALS trial dashboard</h1>
<p>Confidential patient-level data: sign in.</p>{error}
<label for="username">User name</label><input id="username" name="username" autocomplete="username" required autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<input type="hidden" name="next" value="{next}"><button type="submit">Sign in</button></form></body></html>"""


# ---------------------------------------------------------------- installation


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths are followed after login."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def install(app, users_file: str | None = None) -> None:
    """Add headers, error handling and (if users are configured) login to a Dash app's server."""
    server: Flask = app.server
    server.config["MAX_CONTENT_LENGTH"] = MAX_CONTENT_LENGTH
    server.config["SESSION_COOKIE_HTTPONLY"] = True
    server.config["SESSION_COOKIE_SAMESITE"] = "Strict"
    server.config["SESSION_COOKIE_SECURE"] = os.environ.get("DASHBOARD_COOKIE_SECURE", "0") == "1"
    server.config["PERMANENT_SESSION_LIFETIME"] = 8 * 3600
    # one key for all workers: from the environment, else made before gunicorn forks (preload_app)
    server.secret_key = os.environ.get(SECRET_ENV) or secrets.token_hex(32)

    users_file = users_file if users_file is not None else os.environ.get(USERS_ENV)
    users = read_users(users_file) if users_file else None
    if users is not None and not users:
        raise UsersFileError(f"{users_file}: no users (add one with 'python -m dashboard add-user NAME')")
    server.config["DASHBOARD_AUTH"] = users is not None
    if users is not None:
        _dummy_hash()  # made before any login attempt, so an unknown user's first one costs the same too
    throttle = _Throttle()
    script_hashes = " ".join(app.csp_hashes())
    csp = "; ".join([
        "default-src 'self'",
        f"script-src 'self' {script_hashes}",
        "style-src 'self' 'unsafe-inline'",  # Dash and plotly.js set inline styles
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])

    @server.before_request
    def _start():
        g.request_id = request.headers.get("X-Request-Id", "")[:64] or uuid.uuid4().hex[:12]
        if users is None or request.path in PUBLIC_PATHS:
            return None
        user = session.get("user")
        if user and user in users:
            return None
        if request.method == "GET" and request.path in ("/", "") and "application/json" not in request.headers.get("Accept", ""):
            nxt = request.full_path if request.query_string else request.path
            return redirect(f"/login?next={_quote(nxt)}", code=302)
        return Response("Sign in required.\n", status=401, mimetype="text/plain", headers={"WWW-Authenticate": 'FormLogin realm="dashboard"'})

    @server.route("/healthz")
    def _health():
        return Response("ok\n", mimetype="text/plain")

    if users is not None:
        @server.route("/login", methods=["GET", "POST"])
        def _login():
            nxt = _safe_next(request.values.get("next"))
            error = ""
            if request.method == "POST":
                name = (request.form.get("username") or "")[:64]
                password = (request.form.get("password") or "")[:1024]
                key = (request.remote_addr or "", name)
                time.sleep(throttle.delay(key))
                if check_password(users, name, password):
                    throttle.succeeded(key)
                    session.clear()
                    session["user"] = name
                    session.permanent = True
                    log.info("login ok user=%s addr=%s", name, request.remote_addr)
                    return redirect(nxt, code=303)
                throttle.failed(key)
                log.warning("login failed user=%r addr=%s", name, request.remote_addr)
                error = '<p class="err" role="alert">Wrong user name or password.</p>'
            page = LOGIN_PAGE.format(action="/login", error=error, next=html.escape(nxt, quote=True))
            return Response(page, status=401 if error else 200, mimetype="text/html")

        @server.route("/logout", methods=["GET", "POST"])
        def _logout():
            session.clear()
            return redirect("/login", code=303)

    @server.after_request
    def _headers(resp: Response):
        h = resp.headers
        h["Content-Security-Policy"] = csp
        h["X-Content-Type-Options"] = "nosniff"
        h["X-Frame-Options"] = "DENY"
        h["Referrer-Policy"] = "no-referrer"
        h["Cross-Origin-Opener-Policy"] = "same-origin"
        h["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        h["X-Request-Id"] = getattr(g, "request_id", "")
        if users is not None:
            h["Cache-Control"] = "no-store"
        h.pop("Server", None)
        return resp

    @server.errorhandler(Exception)
    def _error(exc):
        rid = getattr(g, "request_id", "") or uuid.uuid4().hex[:12]
        if isinstance(exc, HTTPException):
            code = exc.code or 500
            if code >= 500:
                log.error("request %s %s %s: %s", rid, request.method, request.path, exc)
            return _error_response(code, exc.name, rid)
        # a bad callback request (wrong shape, wrong types) is the client's error; anything else is ours
        code = 400 if request.path.startswith("/_dash-update-component") else 500
        log.exception("request %s %s %s failed", rid, request.method, request.path)
        return _error_response(code, "Bad request" if code == 400 else "Internal error", rid)


def _quote(s: str) -> str:
    from urllib.parse import quote

    return quote(s, safe="/")


def _error_response(code: int, title: str, rid: str) -> Response:
    if "application/json" in request.headers.get("Accept", "") or request.path.startswith("/_dash"):
        resp = jsonify({"error": title, "request_id": rid})
        resp.status_code = code
        return resp
    body = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{code} {html.escape(title)}</title></head>"
            f"<body><h1>{code} {html.escape(title)}</h1><p>Quote request id <code>{html.escape(rid)}</code> "
            f"to the administrator.</p></body></html>")
    return Response(body, status=code, mimetype="text/html")


def callback_error_handler(exc: Exception):
    """Dash's global callback error handler: log with a request id, show a notice, change nothing else."""
    from dash import set_props

    from . import ids, layout

    rid = getattr(g, "request_id", "") or uuid.uuid4().hex[:12]
    log.error("callback failed (request %s): %s: %s", rid, type(exc).__name__, exc, exc_info=exc)
    try:
        set_props(ids.URL_NOTICE, {"children": layout.notice(
            f"Something went wrong while updating the view; nothing was changed. Quote request id {rid} to the administrator.", "warn")})
    except Exception:  # noqa: BLE001 - the notice is best effort
        pass
    return None


def is_loopback(host: str) -> bool:
    host = host.strip("[]")
    return host in ("localhost", "::1") or host.startswith("127.")


def check_bind(binds: list[str], users_configured: bool, protected_elsewhere: bool) -> str | None:
    """None if the addresses are allowed; else why not."""
    if users_configured or protected_elsewhere:
        return None
    for b in binds:
        if b.startswith("unix:"):
            continue
        host = b.rsplit(":", 1)[0] if ":" in b else b
        if not is_loopback(host):
            return (f"refusing to listen on {b}: no users are configured ({USERS_ENV}), so the dashboard serves only on "
                    f"127.0.0.1. Configure users, or set {PROTECTED_ENV}=1 if the deployment is protected elsewhere "
                    f"(e.g. behind a hospital single sign-on proxy).")
    return None

