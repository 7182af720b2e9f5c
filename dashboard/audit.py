"""The audit log: who signed in (or failed to), who signed out, who exported what, when and from where.

One JSON object per line, appended (``O_APPEND``, one ``write`` per line, so lines of concurrent workers
never interleave) to ``DASHBOARD_AUDIT_LOG`` (default ``-``: the server's standard error, which gunicorn
sends to its error log).  The file is created with mode 0600 and never rewritten by the app.  Fields:

- ``seq``: a sequence number from the shared store (with ``DASHBOARD_REDIS_URL``, one sequence for all
  instances; without it, one per instance start, which ``boot`` names);
- ``time``: UTC, ISO 8601 with milliseconds; ``event``; ``user``; ``addr`` (the client's address as the
  server sees it); ``request_id`` (the ``X-Request-Id`` of the response); ``instance`` (host and pid);
- the event's own fields, e.g. ``export``, ``filename``, ``bytes``, ``sha256`` and ``filter`` for an export.

Events written by the server: ``login`` (``outcome``: ``ok``, ``wrong-password`` or ``throttled``),
``logout``, ``session-end`` (revoked, expired or user changed), ``export`` (each CSV download and HTML
report, through :func:`audited_export`).  A record that cannot be written raises :class:`AuditError`:
the action it describes is refused rather than done unrecorded.

Usable from a Flask request context (a login, a Dash callback); no Dash import.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import json
import os
import socket
import sys

AUDIT_ENV = "DASHBOARD_AUDIT_LOG"
CONFIG_KEY = "DASHBOARD_AUDIT"
MAX_FIELD_CHARS = 2000


class AuditError(RuntimeError):
    pass


class AuditLog:
    """Where the lines go and where their sequence numbers come from."""

    def __init__(self, path: str | None, store):
        self.path = path if path and path != "-" else None
        self.store = store
        self.boot = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%SZ") + f"-{os.getpid()}"
        if self.path:
            try:
                os.close(os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600))
            except OSError as exc:
                raise AuditError(f"audit log {self.path}: cannot be opened for appending:"
                                 f" {exc.strerror or exc}") from exc

    def write(self, entry: dict) -> dict:
        entry = {"seq": self.store.next_seq("audit"), "boot": self.boot, **entry}
        line = (json.dumps(entry, ensure_ascii=False, default=str, separators=(",", ":")) + "\n").encode("utf-8")
        if self.path is None:
            sys.stderr.write("audit " + line.decode("utf-8"))
            sys.stderr.flush()
            return entry
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
        except OSError as exc:
            raise AuditError(f"audit log {self.path}: {exc.strerror or exc}") from exc
        return entry


def _clip(value):
    if isinstance(value, str):
        return value[:MAX_FIELD_CHARS]
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    text = json.dumps(value, default=str, ensure_ascii=False)
    return value if len(text) <= MAX_FIELD_CHARS else text[:MAX_FIELD_CHARS] + "…"


def record(event: str, **fields) -> dict:
    """Append one audit line for ``event`` (in a Flask request context: user, address and request id are
    taken from it; pass ``user=`` to name the user of a login attempt).  Returns the entry written."""
    from flask import current_app, g, has_request_context, request

    log: AuditLog | None = current_app.config.get(CONFIG_KEY)
    if log is None:
        raise AuditError("no audit log configured on this app (dashboard.security.install makes one)")
    entry = {
        "time": _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "event": event,
        "user": None,
        "addr": None,
        "request_id": None,
        "instance": f"{socket.gethostname()}:{os.getpid()}",
    }
    if has_request_context():
        entry.update(user=getattr(g, "user", None), addr=request.remote_addr,
                     request_id=getattr(g, "request_id", None))
    entry.update({k: _clip(v) for k, v in fields.items()})
    return log.write(entry)


def audited_export(fn):
    """Decorator for the download callback: every file it returns (a ``dict(content=..., filename=...)``,
    the shape of ``dcc.Download`` data) is recorded as an ``export`` before it is sent: the file name,
    type, size, SHA-256 of the content and the filter store it was made from."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        out = fn(*args, **kwargs)
        if isinstance(out, dict) and "filename" in out:
            content = out.get("content") or ""
            raw = content.encode("utf-8") if isinstance(content, str) else bytes(content)
            record("export", filename=str(out["filename"]), type=out.get("type"), bytes=len(raw),
                   sha256=hashlib.sha256(raw).hexdigest(), filter=kwargs.get("store"))
        return out

    return wrapper
