"""The one store of mutable state shared by every worker (and, with Redis, by every instance).

What lives here: the server-side session records (so that a logout, a password change or a removed
user takes effect at once everywhere), the failed-login counts of the login throttle, and the audit
log's sequence number.  Nothing else is shared between requests.

- ``LocalStore``: one machine.  An SQLite database in a private temporary directory made when the app
  is built, before gunicorn forks its workers (``preload_app``), so every worker of the instance uses it;
  it is gone when the server stops (sessions then end, as they should with a new key).
- ``RedisStore``: ``DASHBOARD_REDIS_URL`` set.  Several instances behind a load balancer share sessions,
  throttle counts and the audit sequence.  Every operation is one atomic Redis command or Lua script.

Both raise :class:`StoreUnavailable` when the store cannot be reached; the server answers 503 then
(fail closed: no session is trusted without its record).  Pure: no Dash, no Flask.
"""

from __future__ import annotations

import atexit
import math
import os
import shutil
import sqlite3
import tempfile
import threading
import time
from dataclasses import dataclass

REDIS_ENV = "DASHBOARD_REDIS_URL"
REDIS_PREFIX_ENV = "DASHBOARD_REDIS_PREFIX"
#: A failure older than this no longer counts.
THROTTLE_WINDOW = 900.0
#: A session's ``last seen`` is written at most this often (seconds), and more often for short idle limits.
TOUCH_EVERY = 30.0


class StoreUnavailable(RuntimeError):
    """The shared store cannot be reached (or answered an error)."""


@dataclass(frozen=True)
class SessionRecord:
    user: str
    fingerprint: str
    created: float
    last: float


def _backoff(n: int, free: int, max_wait: float) -> float:
    """Seconds a key is locked after its n-th counted attempt (none before the ``free``-th)."""
    if n < free:
        return 0.0
    return min(0.5 * 2.0 ** min(n - free, 30), max_wait)


def _touch_every(idle: float) -> float:
    return min(TOUCH_EVERY, idle / 4.0)


# ---------------------------------------------------------------- one machine


class LocalStore:
    """SQLite in a private directory, shared by the forked workers of one instance."""

    kind = "local"

    def __init__(self, directory: str | None = None):
        self._owner = os.getpid()
        self._made_dir = directory is None
        self.directory = directory or tempfile.mkdtemp(prefix="als-dashboard-state-")
        self.path = os.path.join(self.directory, "state.sqlite3")
        self._local = threading.local()  # one connection per (process, thread)
        con = self._con()
        con.execute("PRAGMA journal_mode=WAL")
        con.executescript("""
            CREATE TABLE IF NOT EXISTS sessions (sid TEXT PRIMARY KEY, user TEXT, fp TEXT, created REAL, last REAL);
            CREATE TABLE IF NOT EXISTS throttle (key TEXT PRIMARY KEY, n INTEGER, next_ok REAL, last REAL);
            CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER);
        """)
        if self._made_dir:
            atexit.register(self._cleanup)

    def _cleanup(self):
        if os.getpid() == self._owner:  # the process that made it (gunicorn's master), never a worker
            shutil.rmtree(self.directory, ignore_errors=True)

    def _con(self) -> sqlite3.Connection:
        loc = self._local
        if getattr(loc, "pid", None) != os.getpid():  # never use a connection across fork
            try:
                loc.con = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=True)
                loc.con.execute("PRAGMA synchronous=OFF")
                loc.con.execute("PRAGMA busy_timeout=10000")
            except sqlite3.Error as exc:
                raise StoreUnavailable(f"session store {self.path}: {exc}") from exc
            loc.pid = os.getpid()
        return loc.con

    def _run(self, fn):
        try:
            return fn(self._con())
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"session store {self.path}: {exc}") from exc

    # sessions

    def session_create(self, sid: str, user: str, fingerprint: str, now: float, idle: float, absolute: float) -> None:
        def op(con):
            con.execute("DELETE FROM sessions WHERE created < ? OR last < ?", (now - absolute, now - idle))
            con.execute("DELETE FROM throttle WHERE last < ?", (now - THROTTLE_WINDOW,))
            con.execute("INSERT OR REPLACE INTO sessions VALUES (?, ?, ?, ?, ?)", (sid, user, fingerprint, now, now))
        self._run(op)

    def session_check(self, sid: str, now: float, idle: float, absolute: float) -> SessionRecord | None:
        def op(con):
            row = con.execute("SELECT user, fp, created, last FROM sessions WHERE sid = ?", (sid,)).fetchone()
            if row is None:
                return None
            rec = SessionRecord(*row)
            if now - rec.created > absolute or now - rec.last > idle:
                con.execute("DELETE FROM sessions WHERE sid = ?", (sid,))
                return None
            if now - rec.last > _touch_every(idle):
                con.execute("UPDATE sessions SET last = ? WHERE sid = ?", (now, sid))
            return rec
        return self._run(op)

    def session_revoke(self, sid: str) -> None:
        self._run(lambda con: con.execute("DELETE FROM sessions WHERE sid = ?", (sid,)))

    # login throttle

    def throttle_attempt(self, key: str, now: float, free: int, max_wait: float) -> float:
        """Count one attempt for ``key`` unless it is locked; 0 if counted (go ahead), else seconds to wait."""
        def op(con):
            con.execute("BEGIN IMMEDIATE")
            try:
                row = con.execute("SELECT n, next_ok, last FROM throttle WHERE key = ?", (key,)).fetchone()
                n, next_ok, last = row if row else (0, 0.0, 0.0)
                if now - last > THROTTLE_WINDOW:
                    n, next_ok = 0, 0.0
                if now < next_ok:
                    con.execute("COMMIT")
                    return next_ok - now
                n += 1
                wait = _backoff(n, free, max_wait)
                con.execute("INSERT OR REPLACE INTO throttle VALUES (?, ?, ?, ?)",
                            (key, n, now + wait if wait else 0.0, now))
                con.execute("COMMIT")
                return 0.0
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return self._run(op)

    def throttle_reset(self, key: str) -> None:
        self._run(lambda con: con.execute("DELETE FROM throttle WHERE key = ?", (key,)))

    def throttle_release(self, key: str) -> None:
        """Take back one counted attempt (it succeeded): successful logins never add up to a lock."""
        self._run(lambda con: con.execute("UPDATE throttle SET n = max(n - 1, 0) WHERE key = ?", (key,)))

    # audit

    def next_seq(self, name: str = "audit") -> int:
        def op(con):
            return con.execute("INSERT INTO counters VALUES (?, 1) ON CONFLICT(name) DO UPDATE SET value = value + 1"
                               " RETURNING value", (name,)).fetchone()[0]
        return int(self._run(op))

    def ping(self) -> None:
        self._run(lambda con: con.execute("SELECT 1").fetchone())


# ---------------------------------------------------------------- several machines


_THROTTLE_LUA = """
local v = redis.call('HMGET', KEYS[1], 'n', 'next', 'last')
local now = tonumber(ARGV[1])
local free = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local maxwait = tonumber(ARGV[4])
local n = tonumber(v[1]) or 0
local nxt = tonumber(v[2]) or 0
local last = tonumber(v[3]) or 0
if now - last > window then n = 0; nxt = 0 end
if now < nxt then return tostring(nxt - now) end
n = n + 1
local wait = 0
if n >= free then wait = math.min(0.5 * 2 ^ math.min(n - free, 30), maxwait) end
if wait > 0 then nxt = now + wait else nxt = 0 end
redis.call('HSET', KEYS[1], 'n', n, 'next', tostring(nxt), 'last', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(window))
return '0'
"""


_RELEASE_LUA = """
local n = tonumber(redis.call('HGET', KEYS[1], 'n'))
if n and n > 0 then redis.call('HSET', KEYS[1], 'n', n - 1) end
return 0
"""


class RedisStore:
    """The same operations in Redis (``DASHBOARD_REDIS_URL``), shared by every instance that names it."""

    kind = "redis"

    def __init__(self, url: str, prefix: str = "als-dashboard:"):
        import redis

        self._errors = (redis.RedisError, OSError)
        self.prefix = prefix
        # redis-py's pool notices a fork and opens new connections in each worker
        self._r = redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3, decode_responses=True,
                                       health_check_interval=30)
        self._throttle = self._r.register_script(_THROTTLE_LUA)
        self._release = self._r.register_script(_RELEASE_LUA)
        self.ping()

    def _run(self, fn):
        try:
            return fn(self._r)
        except self._errors as exc:
            raise StoreUnavailable(f"Redis: {type(exc).__name__}: {exc}") from exc

    def _k(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def ping(self) -> None:
        self._run(lambda r: r.ping())

    def session_create(self, sid, user, fingerprint, now, idle, absolute) -> None:
        key = self._k("sess", sid)

        def op(r):
            p = r.pipeline(transaction=True)
            p.hset(key, mapping={"user": user, "fp": fingerprint, "created": repr(now), "last": repr(now)})
            p.expire(key, max(1, math.ceil(min(idle, absolute))))
            p.execute()
        self._run(op)

    def session_check(self, sid, now, idle, absolute) -> SessionRecord | None:
        key = self._k("sess", sid)

        def op(r):
            user, fp, created, last = r.hmget(key, "user", "fp", "created", "last")
            if user is None or created is None or last is None:
                return None
            rec = SessionRecord(user, fp or "", float(created), float(last))
            if now - rec.created > absolute or now - rec.last > idle:
                r.delete(key)
                return None
            if now - rec.last > _touch_every(idle):
                p = r.pipeline(transaction=True)
                p.hset(key, "last", repr(now))
                p.expire(key, max(1, math.ceil(min(idle, absolute - (now - rec.created)))))
                p.execute()
            return rec
        return self._run(op)

    def session_revoke(self, sid) -> None:
        self._run(lambda r: r.delete(self._k("sess", sid)))

    def throttle_attempt(self, key, now, free, max_wait) -> float:
        out = self._run(lambda r: self._throttle(keys=[self._k("thr", key)],
                                                 args=[repr(now), free, THROTTLE_WINDOW, max_wait]))
        return float(out)

    def throttle_reset(self, key) -> None:
        self._run(lambda r: r.delete(self._k("thr", key)))

    def throttle_release(self, key) -> None:
        self._run(lambda r: self._release(keys=[self._k("thr", key)]))

    def next_seq(self, name: str = "audit") -> int:
        return int(self._run(lambda r: r.incr(self._k("seq", name))))


def from_environment(environ=None):
    """``RedisStore`` if ``DASHBOARD_REDIS_URL`` is set, else a new ``LocalStore``."""
    environ = os.environ if environ is None else environ
    url = environ.get(REDIS_ENV, "").strip()
    if url:
        return RedisStore(url, environ.get(REDIS_PREFIX_ENV, "als-dashboard:"))
    return LocalStore()


def now() -> float:
    return time.time()
