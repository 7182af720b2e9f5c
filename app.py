"""Entry point for gunicorn and ``python app.py``.

Production: ``gunicorn -c dashboard/gunicorn_conf.py app:server`` (the Procfile) or ``python -m dashboard serve``.
gunicorn without that configuration is refused at start (see ``dashboard.security.check_entry_point``).
"""

import sys

from dashboard import security

_problem = security.check_entry_point()
if _problem:
    sys.stderr.write(f"Refusing to start: {_problem}\n")
    sys.stderr.flush()
    raise SystemExit(3)  # gunicorn's "worker failed to boot": the master stops instead of forking another

from dashboard.server import create_app_or_exit  # noqa: E402

app = create_app_or_exit()
server = app.server

if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8050, debug=False)
