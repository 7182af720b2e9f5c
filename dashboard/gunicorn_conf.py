"""gunicorn settings used by the Procfile and ``python -m dashboard serve``.

Environment overrides: PORT / DASHBOARD_BIND, WEB_CONCURRENCY (workers),
GUNICORN_THREADS.
"""

import multiprocessing
import os

_port = os.environ.get("PORT", "8050")
bind = os.environ.get("DASHBOARD_BIND", f"127.0.0.1:{_port}")
# 2 cores: 2 workers x 4 threads serve page loads while a slow callback runs.
workers = int(os.environ.get("WEB_CONCURRENCY", max(2, min(4, multiprocessing.cpu_count()))))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
# load the dataset once in the master: an invalid dataset stops the server before any worker starts
preload_app = True
timeout = 30
graceful_timeout = 10
keepalive = 5
max_requests = 2000
max_requests_jitter = 200
accesslog = os.environ.get("DASHBOARD_ACCESS_LOG", "-")
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
errorlog = "-"
loglevel = os.environ.get("DASHBOARD_LOG_LEVEL", "info")
# no server version banner
proc_name = "als-dashboard"


def on_starting(server):
    """Refuse to listen beyond loopback without users, unless protected elsewhere; say where we serve."""
    import sys

    from dashboard.security import PROTECTED_ENV, USERS_ENV, check_bind

    binds = list(server.cfg.bind)
    users = bool(os.environ.get(USERS_ENV))
    protected = os.environ.get(PROTECTED_ENV, "") == "1"
    problem = check_bind(binds, users, protected)
    if problem:
        sys.stderr.write(problem + "\n")
        sys.stderr.flush()
        raise SystemExit(1)
    if not users:
        server.log.info("No users configured (%s): serving without login, on %s only.", USERS_ENV, ", ".join(binds))
    else:
        server.log.info("Login required for every route (users from %s); serving on %s.", os.environ[USERS_ENV], ", ".join(binds))
