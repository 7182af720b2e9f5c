"""The application factory: ``create_app()`` is the only place that does I/O at start."""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

from dash import Dash

from . import cohorts, importers, security
from .data import Dataset
from .diff import with_previous

ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"
#: Dash's default page with the document language declared and without the <footer> around its
#: scripts (a second, empty contentinfo landmark next to the app's own footer).
INDEX_STRING = """<!DOCTYPE html>
<html lang="en">
    <head>
        {%metas%}
        <title>{%title%}</title>
        {%favicon%}
        {%css%}
    </head>
    <body>
        {%app_entry%}
        {%config%}
        {%scripts%}
        {%renderer%}
    </body>
</html>
"""


#: Dash's own copy of @babel/polyfill 7 (core-js 2 and regenerator-runtime), first of its scripts.
POLYFILL_TAG = re.compile(r'<script src="[^"]*/deps/polyfill@[^"]*"></script>\n?')


class DashboardApp(Dash):
    """Dash, without the @babel/polyfill it puts before React.

    Its core-js 2 counts U+180E as white space, as ES5 did; Chromium does not since ES2016, so core-js takes
    the browser's ``parseInt``, ``parseFloat`` and ``String.prototype.trim`` for broken and puts its own in their
    place, which are 10 to 50 times slower (200,000 calls of ``parseFloat(" 12.5px")`` in the page: 747 ms
    against 16 ms).  plotly.js calls them while it draws: on the weakness view's grid, core-js's ``trim`` alone
    took 15 ms of a 100-158 ms redraw.  Every browser the dashboard supports has natively what core-js 2 adds;
    the one global Dash's bundles need from it, ``regeneratorRuntime``, is served from
    ``assets/regenerator-runtime.js``."""

    def interpolate_index(self, **kwargs):
        kwargs["scripts"] = POLYFILL_TAG.sub("", kwargs["scripts"])
        return super().interpolate_index(**kwargs)


def create_app(data_dir: str | os.PathLike | None = None, dataset: Dataset | None = None,
               users_file: str | None = None) -> Dash:
    """Load and validate the dataset in any format (:func:`dashboard.importers.load`; raising
    ``DatasetError`` if invalid) and build the Dash app.

    Callbacks are registered with ``dash.callback`` when ``dashboard.callbacks``
    is first imported and are taken by the first app that serves a request, so
    build one app per process.
    """
    ds = dataset if dataset is not None else importers.load(data_dir)
    ds = with_previous(ds)  # $DASHBOARD_PREVIOUS_DATA_DIR: the previous data cut, read-only
    from . import callbacks, layout  # noqa: F401  (registers the callbacks)

    app = DashboardApp(
        __name__,
        assets_folder=str(ASSETS_DIR),
        # the dataset's own title (metadata.json), escaped: Dash writes it into <title> as it is
        title=html.escape(f"{ds.title} · dashboard"),
        index_string=INDEX_STRING,
        update_title=None,
        serve_locally=True,
        on_error=security.callback_error_handler,
    )
    app.server.config[callbacks.DATASET_KEY] = ds
    pf = cohorts.patient_frame(ds)
    app.layout = layout.build_layout(ds, pf)
    security.install(app, users_file)
    # Dash finishes its setup (registering the component-suite JS paths, taking the
    # callbacks) in a before_request hook that sets its "done" flag before doing the
    # work (plotly/dash#3971): concurrent first requests to a fresh gthread worker
    # then get 500 "dash is not a registered library".  Serve the page once here,
    # so the setup is complete before gunicorn (preload_app) forks its workers.
    etags = _unchanged_suite_files(app)
    app.server.test_client().get(app.config.requests_pathname_prefix)
    etags.update(suite_etags(app))  # the files Dash registered while serving the page
    _warm_up()
    return app


def _unchanged_suite_files(app: Dash) -> dict:
    """Answer 304 at once to the browser's revalidation of a component-suite file served without a fingerprint
    in its name (plotly.js, dcc's lazily loaded chunks): Dash reads the file again and hashes it for each such
    request, 4.8 MB and 8 ms for plotly.js on every page load, while the page's first callback is computed.

    Returns the table of ETags the hook answers from, empty: create_app fills it (suite_etags) once Dash has
    registered its files, in the process that forks the workers, before any request of a user; it is not
    changed after.  Registered after the security hooks: a request without a session is refused first."""
    from dash.fingerprint import check_fingerprint
    from flask import Response, request

    etags: dict[tuple[str, str], str] = {}
    prefix = f"{app.config.requests_pathname_prefix}_dash-component-suites/"

    def not_modified():
        tag = request.headers.get("If-None-Match")
        if not tag or request.method != "GET" or not request.path.startswith(prefix):
            return None
        package, _, rest = request.path[len(prefix):].partition("/")
        path, fingerprinted = check_fingerprint(rest)
        if fingerprinted or etags.get((package, path)) != tag:
            return None  # Dash answers (a fingerprinted name is cached for a year, never revalidated)
        return Response(None, status=304)

    app.server.before_request(not_modified)
    return etags


def suite_etags(app: Dash) -> dict[tuple[str, str], str]:
    """Each component-suite file Dash has registered, by (package, path): the ETag Dash gives it, quoted as in
    its header (werkzeug's generate_etag, as Dash's add_etag).  The files come from the installed packages,
    which do not change while the app runs."""
    import pkgutil

    from werkzeug.http import generate_etag, quote_etag  # what Dash's response.add_etag() calls

    etags = {}
    for package, paths in app.registered_paths.items():
        for path in paths:
            try:
                data = pkgutil.get_data(package, path)
            except OSError:  # registered, not shipped (a source map): Dash answers 404
                continue
            if data is not None:
                etags[(package, path)] = quote_etag(generate_etag(data))
    return etags


def _warm_up() -> None:
    """Load, in the process that forks gunicorn's workers (preload_app), what each worker's first callback would
    otherwise load for itself: plotly.py's property validators (a JSON file read on the first figure built: 170
    ms of a fresh worker's first answer of 485 ms, against 97 ms for the next) and its JSON encoding."""
    from dash._utils import to_json

    from . import figures

    to_json(figures.message_figure("warm-up"))


def create_app_or_exit(data_dir=None) -> Dash:
    """``create_app``, but an invalid dataset prints its problems (no traceback) and exits with status 1."""
    import sys

    from .data import DatasetError

    try:
        return create_app(data_dir)
    except DatasetError as exc:
        sys.stderr.write(f"Refusing to start: invalid dataset {exc.directory}: {len(exc.problems)} problem(s)\n")
        for prob in exc.problems:
            sys.stderr.write(f"{prob}\n")
        sys.stderr.flush()
        raise SystemExit(1) from None
    except security.ConfigError as exc:
        sys.stderr.write(f"Refusing to start: {exc}\n")
        sys.stderr.flush()
        raise SystemExit(1) from None
