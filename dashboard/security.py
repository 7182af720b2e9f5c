"""Access control and hardening of the Flask server under the Dash app.

- Optional login: when ``DASHBOARD_USERS_FILE`` names a credentials file
  (``name:hash`` lines; salted scrypt hashes made by ``python -m dashboard
  add-user``), every route, Dash's own included, needs a session obtained on
  ``/login``.  Without it: a redirect to the login page for a page, 401 for
  anything else, and no data.  Passwords are compared in constant time, and
  unknown users cost the same as known ones.
- Sessions are server-side records (``dashboard.shared_state``) named by a
  random id in the signed cookie: logout revokes the record, a changed password
  or a removed user (the credentials file is read on every request) ends it at
  once, in every worker and every instance; each has an idle and an absolute
  lifetime; the cookie is issued once, at login.
- Failed logins are counted atomically in the shared store per address and
  name and per address, before the password is checked: parallel guesses count
  one each, and a locked key is answered 429 at once (no thread sleeps).
- Logins, logouts and exports go to the audit log (``dashboard.audit``).
- Security headers on every response (CSP with the hashes of Dash's inline
  scripts, nosniff, frame-ancestors / X-Frame-Options, Referrer-Policy).
- Errors never reach a client as tracebacks: they are logged with a request
  id made by the server, which the client gets to quote.
"""

from __future__ import annotations

import functools
import html
import logging
import math
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
CONF_ENV = "DASHBOARD_GUNICORN_CONF"
IDLE_ENV = "DASHBOARD_SESSION_IDLE_MINUTES"
MAX_AGE_ENV = "DASHBOARD_SESSION_MAX_HOURS"
STORE_KEY = "DASHBOARD_STORE"
USER_RE = r"^[A-Za-z0-9._@-]{1,64}$"
#: Request bodies larger than this are refused (Dash's own requests here are a few kB).
MAX_CONTENT_LENGTH = 2 * 1024 * 1024
MIN_SECRET_CHARS = 32
WEAK_SECRET_WORDS = ("changeme", "change-me", "change_me", "secret", "password", "passw0rd", "default", "example",
                     "dashboard", "letmein", "qwerty", "123456", "abcdef", "xxxxxx", "test", "admin")
#: Failed logins: free attempts per address and name, then a lock doubling from 0.5 s up to this (seconds).
THROTTLE_FREE = 3
THROTTLE_MAX_WAIT = 60.0
#: ... and per address whatever the name (a flood of names), with a shorter lock.
THROTTLE_FREE_PER_ADDR = 20
THROTTLE_ADDR_MAX_WAIT = 10.0


@functools.cache
def _dummy_hash() -> str:
    """A hash compared when the user is unknown, so that failing costs the same either way (made only when
    login is on: scrypt takes 70 ms, which a start-up without login need not pay)."""
    return generate_password_hash("not a password", method="scrypt")


PUBLIC_PATHS = ("/login", "/logout", "/healthz")


class ConfigError(ValueError):
    """The server is configured so that it must not start (the message says why and what to do)."""


class UsersFileError(ConfigError):
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


def check_password(users: dict[str, str], name: str, password: str) -> bool:
    hashed = users.get(name)
    ok = check_password_hash(hashed or _dummy_hash(), password)
    return bool(hashed) and ok


LOGIN_PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Sign in — ALS trial dashboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;background:#f6f8fa;
color:#1f2328;display:flex;justify-content:center;padding-top:10vh}}
form{{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:24px 28px;width:320px}}
label{{display:block;font-weight:600;margin:12px 0 4px}}
input{{width:100%;padding:6px 8px;font-size:1rem;border:1px solid #8c959f;border-radius:4px;box-sizing:border-box}}
button{{margin-top:16px;background:#0072b2;color:#fff;border:1px solid #005a8c;border-radius:5px;padding:8px 14px;
font-size:1rem}}
:focus-visible{{outline:3px solid #d55e00;outline-offset:2px}}
.err{{color:#8a2a00;background:#fff4d6;padding:6px 8px;border-radius:4px}}</style></head>
<body><form method="post" action="{action}"><h1 style="font-size:1.2rem;margin:0">ALS trial dashboard</h1>
<p>Confidential patient-level data: sign in.</p>{error}
<label for="username">User name</label>
<input id="username" name="username" autocomplete="username" required autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<input type="hidden" name="next" value="{next}"><button type="submit">Sign in</button></form></body></html>"""


# ---------------------------------------------------------------- configuration


def check_secret_key(key: str) -> str | None:
    """None if ``key`` will do as the session signing key; else why not."""
    if len(key) < MIN_SECRET_CHARS:
        return (f"{SECRET_ENV} is too short ({len(key)} characters; at least {MIN_SECRET_CHARS}): use a random key, "
                "e.g. python -c 'import secrets; print(secrets.token_hex(32))'")
    low = key.lower()
    if any(w in low for w in WEAK_SECRET_WORDS) or len(set(key)) < 10:
        return (f"{SECRET_ENV} looks like a placeholder or a word, not a random key: use e.g. "
                "python -c 'import secrets; print(secrets.token_hex(32))'")
    return None


def _env_float(name: str, default: float, low: float, high: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if not low <= value <= high or value != value:
        raise ConfigError(f"{name}={raw!r} is out of range {low:g}-{high:g}")
    return value


def session_limits() -> tuple[float, float]:
    """(idle, absolute) session lifetimes in seconds, from the environment."""
    idle = 60 * _env_float(IDLE_ENV, 60.0, 0.01, 7 * 24 * 60)
    absolute = 3600 * _env_float(MAX_AGE_ENV, 8.0, 0.0005, 30 * 24)
    return min(idle, absolute), absolute


def fingerprint(hashed: str) -> str:
    """What a session remembers of its user's password hash: a new password (or a removed user) ends it."""
    import hashlib

    return hashlib.blake2b(hashed.encode(), digest_size=12).hexdigest()


def _throttle_keys(addr: str, name: str) -> list[tuple[str, int, float]]:
    """(key, free attempts, longest wait) for a login attempt: per address and name, and per address."""
    import hashlib

    pair = hashlib.blake2b(f"{addr}\x00{name}".encode(), digest_size=12).hexdigest()
    return [("n:" + pair, THROTTLE_FREE, THROTTLE_MAX_WAIT),
            ("a:" + addr, THROTTLE_FREE_PER_ADDR, THROTTLE_ADDR_MAX_WAIT)]


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths are followed after login: no scheme or host, no backslash, and no
    whitespace or control character anywhere (browsers and Werkzeug drop tabs and newlines, so that
    ``/\\t/evil.example`` becomes ``//evil.example``)."""
    from urllib.parse import urlsplit

    if not target or len(target) > 2000 or not target.startswith("/") or "\\" in target:
        return "/"
    if any(ord(c) <= 0x20 or 0x7F <= ord(c) <= 0x9F or c in "\u2028\u2029\ufeff" for c in target):
        return "/"
    if target.startswith("//"):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def _request_id() -> str:
    """Made here, never taken from the client (it is logged, and quoted back to the client)."""
    return uuid.uuid4().hex[:16]


# ---------------------------------------------------------------- installation


def install(app, users_file: str | None = None) -> None:
    """Add headers, error handling, the shared store, the audit log and (if users are configured) login
    with server-side sessions to a Dash app's server."""
    from . import audit, shared_state

    server: Flask = app.server
    server.config["MAX_CONTENT_LENGTH"] = MAX_CONTENT_LENGTH
    server.config["SESSION_COOKIE_HTTPONLY"] = True
    server.config["SESSION_COOKIE_SAMESITE"] = "Strict"
    server.config["SESSION_COOKIE_SECURE"] = os.environ.get("DASHBOARD_COOKIE_SECURE", "0") == "1"
    idle, absolute = session_limits()
    server.config["PERMANENT_SESSION_LIFETIME"] = int(math.ceil(absolute))
    # the cookie is issued once, at login: it is not re-sent (with a fresh expiry) on every response
    server.config["SESSION_REFRESH_EACH_REQUEST"] = False

    users_file = users_file if users_file is not None else os.environ.get(USERS_ENV)
    users_path = Path(users_file) if users_file else None
    users = read_users(users_path) if users_path else None
    if users is not None and not users:
        raise UsersFileError(f"{users_file}: no users (add one with 'python -m dashboard add-user NAME')")
    auth = users is not None
    server.config["DASHBOARD_AUTH"] = auth
    redis_url = os.environ.get(shared_state.REDIS_ENV, "").strip()
    key = os.environ.get(SECRET_ENV)
    if key is not None:
        problem = check_secret_key(key)
        if problem:
            raise ConfigError(problem)
    elif redis_url and auth:
        raise ConfigError(f"{shared_state.REDIS_ENV} is set (several instances share sessions): set {SECRET_ENV} "
                          "to the same random key on every instance")
    # one key for all workers: from the environment, else made before gunicorn forks (preload_app)
    server.secret_key = key or secrets.token_hex(32)
    try:
        store = shared_state.from_environment()
    except shared_state.StoreUnavailable as exc:
        raise ConfigError(f"the shared store cannot be reached: {exc}") from exc
    server.config[STORE_KEY] = store
    try:
        server.config[audit.CONFIG_KEY] = audit.AuditLog(os.environ.get(audit.AUDIT_ENV, "-"), store)
    except audit.AuditError as exc:
        raise ConfigError(str(exc)) from exc
    if auth:
        _dummy_hash()  # made before any login attempt, so an unknown user's first one costs the same too
    protected_elsewhere = os.environ.get(PROTECTED_ENV, "") == "1"
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

    def current_users() -> dict[str, str]:
        """The credentials file as it is now: a removed user or a new password takes effect at once."""
        return read_users(users_path)

    def end_session(reason: str, user: str | None, sid: str | None) -> None:
        if sid:
            store.session_revoke(sid)
        session.clear()
        audit.record("session-end", user=user, reason=reason)

    @server.before_request
    def _start():
        g.request_id = _request_id()
        g.user = None
        addr = request.remote_addr or ""  # empty on a unix socket: a local proxy
        if not auth and not protected_elsewhere and addr and not is_loopback(addr):
            # a server started without dashboard/gunicorn_conf.py (e.g. gunicorn -b 0.0.0.0:PORT app:server)
            log.warning("refused a request from %s: no users are configured, so only loopback is served",
                        request.remote_addr)
            return Response("This dashboard serves only this machine (no users are configured).\n", status=403,
                            mimetype="text/plain")
        if not auth or request.path in PUBLIC_PATHS:
            return None
        sid, user = session.get("sid"), session.get("user")
        if isinstance(sid, str) and isinstance(user, str):
            rec = store.session_check(sid, time.time(), idle, absolute)
            if rec is not None and rec.user == user:
                hashed = current_users().get(user)
                if hashed is not None and fingerprint(hashed) == rec.fingerprint:
                    g.user = user
                    return None
                end_session("user removed or password changed", user, sid)
            else:
                session.clear()  # expired, revoked, or from before a restart: the response deletes the cookie
        elif session:
            session.clear()
        wants_json = "application/json" in request.headers.get("Accept", "")
        if request.method == "GET" and request.path in ("/", "") and not wants_json:
            nxt = request.full_path if request.query_string else request.path
            return redirect(f"/login?next={_quote(nxt)}", code=302)
        return Response("Sign in required.\n", status=401, mimetype="text/plain",
                        headers={"WWW-Authenticate": 'FormLogin realm="dashboard"'})

    @server.route("/healthz")
    def _health():
        return Response("ok\n", mimetype="text/plain")

    if auth:
        @server.route("/login", methods=["GET", "POST"])
        def _login():
            nxt = _safe_next(request.values.get("next"))
            error = ""
            status = 200
            headers = {}
            if request.method == "POST":
                name = (request.form.get("username") or "")[:64]
                password = (request.form.get("password") or "")[:1024]
                addr = request.remote_addr or ""
                # counted before the password is checked, atomically in the shared store: parallel guesses
                # count one each, and a locked key is refused at once (no sleeping thread, no hash to compute)
                wait = 0.0
                for key, free, max_wait in _throttle_keys(addr, name):
                    wait = store.throttle_attempt(key, time.time(), free, max_wait)
                    if wait:
                        break
                if wait:
                    audit.record("login", user=name, outcome="throttled")
                    retry = max(1, int(math.ceil(wait)))
                    error = (f'<p class="err" role="alert">Too many failed sign-ins: wait {retry} s, '
                             'then try again.</p>')
                    status, headers = 429, {"Retry-After": str(retry)}
                elif check_password(current_users(), name, password):
                    pair_key, addr_key = (k for k, _free, _wait in _throttle_keys(addr, name))
                    store.throttle_reset(pair_key)
                    store.throttle_release(addr_key)
                    sid = secrets.token_urlsafe(32)
                    hashed = current_users().get(name, "")
                    store.session_create(sid, name, fingerprint(hashed), time.time(), idle, absolute)
                    session.clear()
                    session["sid"] = sid
                    session["user"] = name
                    session.permanent = True
                    g.user = name
                    audit.record("login", user=name, outcome="ok")
                    return redirect(nxt, code=303)
                else:
                    audit.record("login", user=name, outcome="wrong-password")
                    error = '<p class="err" role="alert">Wrong user name or password.</p>'
                    status = 401
            page = LOGIN_PAGE.format(action="/login", error=error, next=html.escape(nxt, quote=True))
            return Response(page, status=status, mimetype="text/html", headers=headers)

        @server.route("/logout", methods=["GET", "POST"])
        def _logout():
            sid, user = session.get("sid"), session.get("user")
            if isinstance(sid, str):
                store.session_revoke(sid)
                audit.record("logout", user=user if isinstance(user, str) else None)
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
        if auth:
            h["Cache-Control"] = "no-store"
        h.pop("Server", None)
        return resp

    @server.errorhandler(Exception)
    def _error(exc):
        from dash.exceptions import DependencyException

        rid = getattr(g, "request_id", "") or _request_id()
        if isinstance(exc, HTTPException):
            code = exc.code or 500
            if code >= 500:
                log.error("request %s %s %s: %s", rid, request.method, request.path, exc)
            return _error_response(code, exc.name, rid)
        if isinstance(exc, DependencyException) or (
                isinstance(exc, OSError) and request.path.startswith("/_dash-component-suites/")):
            # a package or file that Dash does not serve: the client's mistake, not a failure
            log.info("request %s %s %s: not found (%s)", rid, request.method, request.path, type(exc).__name__)
            return _error_response(404, "Not Found", rid)
        if isinstance(exc, (shared_state.StoreUnavailable, audit.AuditError)):
            log.error("request %s %s %s: %s", rid, request.method, request.path, exc)
            return _error_response(503, "Service unavailable", rid)
        # a bad callback request (wrong shape, wrong types) is the client's error; anything else is ours
        code = 400 if request.path.startswith("/_dash-update-component") else 500
        log.exception("request %s %s %s failed", rid, request.method, request.path)
        return _error_response(code, "Bad request" if code == 400 else "Internal error", rid)


def store_of(server: Flask):
    """The app's shared store (dashboard.shared_state)."""
    return server.config[STORE_KEY]


def check_entry_point(environ=None, modules=None) -> str | None:
    """None if the app may start here; else why not.  Under gunicorn the project's configuration
    (``-c dashboard/gunicorn_conf.py``) must be used: it loads the app once before forking (one key, one
    store), uses the worker that holds against slow clients, and refuses to listen beyond loopback
    without users."""
    import sys

    environ = os.environ if environ is None else environ
    modules = sys.modules if modules is None else modules
    if "gunicorn.arbiter" in modules and environ.get(CONF_ENV) != "1":
        return ("gunicorn was started without the dashboard's configuration. Start it with "
                "'gunicorn -c dashboard/gunicorn_conf.py app:server' (as the Procfile does) or "
                "'python -m dashboard serve'.")
    return None


def _quote(s: str) -> str:
    from urllib.parse import quote

    return quote(s, safe="/")


def _error_response(code: int, title: str, rid: str) -> Response:
    if "application/json" in request.headers.get("Accept", "") or request.path.startswith("/_dash"):
        resp = jsonify({"error": title, "request_id": rid})
        resp.status_code = code
        return resp
    body = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{code} {html.escape(title)}</title></head>"
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
            "Something went wrong while updating the view; nothing was changed. "
            f"Quote request id {rid} to the administrator.", "warn")})
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
            return (f"refusing to listen on {b}: no users are configured ({USERS_ENV}), "
                    "so the dashboard serves only on "
                    f"127.0.0.1. Configure users, or set {PROTECTED_ENV}=1 if the deployment is protected elsewhere "
                    f"(e.g. behind a hospital single sign-on proxy).")
    return None

