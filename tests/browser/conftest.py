"""Browser tests: the real gunicorn server (started here) driven by headless Chromium (Playwright).

Chromium is Debian's /usr/bin/chromium (installed by tests/run.sh); Playwright
never downloads a browser.  Screenshots go to tests/artifacts/screenshots/.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 30.0, proc=None) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except Exception as exc:  # noqa: BLE001 - retry until the deadline
            last = exc
        time.sleep(0.1)
    raise RuntimeError(f"{url} not up after {timeout}s: {last}")


def start_gunicorn(port: int, data_dir: Path | None = None, extra_env: dict | None = None,
                   log_path: Path | None = None):
    env = dict(os.environ)
    env.pop("TRIAL_DATA_DIR", None)
    if data_dir is not None:
        env["TRIAL_DATA_DIR"] = str(data_dir)
    env["DASHBOARD_BIND"] = f"127.0.0.1:{port}"
    env.setdefault("WEB_CONCURRENCY", "2")
    env.update(extra_env or {})
    log = open(log_path or os.devnull, "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "dashboard/gunicorn_conf.py", "app:server"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    return proc


def stop(proc) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture(scope="session")
def server_url():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    port = free_port()
    # one server per pytest-xdist worker (tests/run.sh runs the suite on two), each with its own log
    proc = start_gunicorn(port, log_path=ARTIFACTS / f"gunicorn-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}.log")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/", proc=proc)
        yield url
    finally:
        stop(proc)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `bash tests/run.sh`, which installs Debian's chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


class ConsoleLog:
    def __init__(self):
        self.errors: list[str] = []

    def attach(self, page):
        page.on("console", lambda m: self.errors.append(f"console.{m.type}: {m.text}")
                if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))


@pytest.fixture
def page(browser, server_url):
    """A fresh page; the test fails if the browser console logged an error or warning."""
    ctx = browser.new_context(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
    pg = ctx.new_page()
    log = ConsoleLog()
    log.attach(pg)
    pg.console_log = log
    yield pg
    ctx.close()
    assert log.errors == [], "browser console not clean:\n" + "\n".join(log.errors)


@pytest.fixture
def new_page(browser):
    """Pages in fresh browser contexts of their own (options as for ``browser.new_context``; the page
    fixture's viewport unless given); the test fails if any of them logged a console error or warning."""
    made = []

    def make(**options):
        ctx = browser.new_context(**{"viewport": {"width": 1440, "height": 1000}, **options})
        pg = ctx.new_page()
        log = ConsoleLog()
        log.attach(pg)
        made.append((ctx, log))
        return pg

    yield make
    for ctx, _log in made:
        ctx.close()
    errors = [e for _ctx, log in made for e in log.errors]
    assert errors == [], "browser console not clean:\n" + "\n".join(errors)


def wait_ready(page, timeout=15000):
    """Wait until Dash has no callback in flight."""
    page.wait_for_function(
        "() => { const r = window.dash_clientside !== undefined && document.querySelector('#cohort-count');"
        " return r && r.textContent.includes('of') && !document.querySelector('[data-dash-is-loading=\"true\"]'); }",
        timeout=timeout,
    )
    page.wait_for_timeout(150)
    page.wait_for_function("() => !document.querySelector('[data-dash-is-loading=\"true\"]')", timeout=timeout)


def shot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@contextlib.contextmanager
def serve(data_dir: Path, log_name: str):
    """The real server on another dataset directory (a generated trial) for the block: yields its URL; the
    log goes to tests/artifacts/<log_name>."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    port = free_port()
    proc = start_gunicorn(port, data_dir=data_dir, log_path=ARTIFACTS / log_name)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/", timeout=60, proc=proc)
        yield url
    finally:
        stop(proc)
