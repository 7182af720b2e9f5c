"""gunicorn settings used by the Procfile and ``python -m dashboard serve``.

Environment overrides: PORT / DASHBOARD_BIND, WEB_CONCURRENCY (workers),
GUNICORN_THREADS, DASHBOARD_READ_TIMEOUT (seconds a client has to send a request's headers; its body gets
one more second per 64 kB), DASHBOARD_ACCESS_LOG, DASHBOARD_LOG_LEVEL.
"""

import multiprocessing
import os

# app.py refuses to start under a gunicorn that did not read this file
os.environ["DASHBOARD_GUNICORN_CONF"] = "1"

_port = os.environ.get("PORT", "8050")
bind = os.environ.get("DASHBOARD_BIND", f"127.0.0.1:{_port}")
# 2 cores: 2 workers x 4 threads serve page loads while a slow callback runs.
workers = int(os.environ.get("WEB_CONCURRENCY", max(2, min(4, multiprocessing.cpu_count()))))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# gthread, but each request is read in full by the worker's event loop before a thread sees it: slow
# clients (headers or bodies trickled) cost a socket each, not a thread (see dashboard/worker.py)
worker_class = "dashboard.worker.BufferedThreadWorker"
worker_connections = 1000
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
# gunicorn's control socket ($XDG_RUNTIME_DIR/gunicorn.ctl or ~/.gunicorn/gunicorn.ctl) is one path for
# every gunicorn the user runs: another server of the same user could be steered through it
control_socket_disable = True


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
        server.log.info("Login required for every route (users from %s); serving on %s.", os.environ[USERS_ENV],
                        ", ".join(binds))
