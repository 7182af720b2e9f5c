"""#16 findings 1 and 2: slow clients and login floods must not take the server from logged-in users.

Before: gthread gave each connection a thread that waited on its headers or body with no deadline (2 x 4
threads), so eight connections sending a header line every 3 s made a logged-in request time out; the
login throttle slept in the worker thread, so a wrong-password flood for a name that does not even exist
delayed everyone by 7-14 s.
"""

from __future__ import annotations

import socket
import statistics
import threading
import time

import pytest

from tests.security_helpers import http_request, login, make_users, start_server, stop, wrong_login

# latencies under attack compared with a baseline: run alone, the machine not shared with another test process
# (tests/run.sh)
pytestmark = pytest.mark.serial

SLOW_CONNECTIONS = 64  # of each kind: headers trickled, bodies trickled
ATTACK_SECONDS = 9


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("slow")
    users = make_users(tmp / "users.txt")
    # a read deadline longer than the attack: what holds here is that a slow request costs no thread
    url, proc, log = start_server(tmp, "gunicorn", {"DASHBOARD_USERS_FILE": str(users), "DASHBOARD_READ_TIMEOUT": "30"})
    cookie = login(url)
    assert cookie
    yield url, cookie, log
    stop(proc)


def _latencies(url, cookie, seconds, every=0.4, limit=60):
    """A logged-in user's /_dash-layout requests for ``seconds``: (latencies, failures)."""
    lat, failed = [], []
    end = time.monotonic() + seconds
    for _ in range(limit):
        if time.monotonic() > end:
            break
        t = time.monotonic()
        try:
            status, _h, body, dt = http_request(url, path="/_dash-layout", cookie=cookie, timeout=6)
            lat.append(dt)
            if status != 200 or b"Patient" not in body:
                failed.append(status)
        except OSError as exc:
            lat.append(time.monotonic() - t)
            failed.append(f"{type(exc).__name__} after {time.monotonic() - t:.1f} s")
        time.sleep(every)
    return lat, failed


def test_slow_headers_and_bodies_do_not_starve_logged_in_users(server):
    url, cookie, _log = server
    base, failed = _latencies(url, cookie, 1.5, every=0.1, limit=15)
    assert not failed
    socks = []
    try:
        for _ in range(SLOW_CONNECTIONS):
            s = socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=5)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            socks.append(s)
            b = socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=5)
            b.sendall(b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                      b"Content-Length: 400\r\n\r\nusername=a")
            socks.append(b)
        stop_at = time.monotonic() + ATTACK_SECONDS

        def trickle():
            k = 0
            while time.monotonic() < stop_at and k < 30:  # a header line or a body byte a second on each
                for i, s in enumerate(socks):
                    try:
                        s.send(b"X-Slow: 1\r\n" if i % 2 == 0 else b"a")  # even: headers, odd: bodies
                    except OSError:
                        pass
                k += 1
                time.sleep(1.0)

        t = threading.Thread(target=trickle, daemon=True)
        t.start()
        time.sleep(1.0)
        lat, failed = _latencies(url, cookie, ATTACK_SECONDS - 2)
        t.join(ATTACK_SECONDS + 5)
        # the slow connections are all still open (no deadline has cut them: they are simply not in a thread)
        alive = 0
        for s in socks:
            try:
                s.send(b"a")
                alive += 1
            except OSError:
                pass
    finally:
        for s in socks:
            s.close()
    print(f"baseline median {statistics.median(base) * 1000:.0f} ms; under {2 * SLOW_CONNECTIONS} slow connections:"
          f" median {statistics.median(lat) * 1000:.0f} ms, max {max(lat) * 1000:.0f} ms, {len(lat)} requests")
    assert failed == [] and len(lat) >= 8
    assert statistics.median(lat) < max(0.3, 5 * statistics.median(base))
    assert max(lat) < 1.5
    assert alive >= SLOW_CONNECTIONS


def test_wrong_password_flood_for_unknown_names_slows_no_one(server):
    """Twelve threads posting wrong passwords for ``nosuchuser`` (and for many names) while a logged-in
    user works: the user's requests keep their latency, and the flood is answered at once."""
    url, cookie, _log = server
    base, _failed = _latencies(url, cookie, 1.0, every=0.1, limit=10)
    stop_at = time.monotonic() + 6
    statuses = []
    lock = threading.Lock()

    def flood(i):
        for k in range(60):
            if time.monotonic() > stop_at:
                break
            st = wrong_login(url, "nosuchuser" if i % 2 else f"nosuchuser{i}-{k}", timeout=20)
            with lock:
                statuses.append(st)

    threads = [threading.Thread(target=flood, args=(i,), daemon=True) for i in range(12)]
    for th in threads:
        th.start()
    time.sleep(0.5)
    lat, failed = _latencies(url, cookie, 4.5, every=0.3)
    for th in threads:
        th.join(30)
    print(f"flood: {len(statuses)} attempts, {statuses.count(401)} checked (401), {statuses.count(429)} refused (429);"
          f" logged-in median {statistics.median(lat) * 1000:.0f} ms, max {max(lat) * 1000:.0f} ms")
    assert failed == []
    assert max(lat) < 2.0 and statistics.median(lat) < max(0.3, 5 * statistics.median(base))
    assert set(statuses) <= {401, 429} and statuses.count(429) > statuses.count(401)


def test_parallel_guesses_count_one_each(tmp_path):
    """Sixteen parallel guesses against one name: at most the three free attempts are checked, the rest are
    refused at once (before: all sixteen ran, each having read the count before any failure was recorded)."""
    users = make_users(tmp_path / "users.txt", names=("alice", "bob"))
    url, proc, _log = start_server(tmp_path, "gunicorn", {"DASHBOARD_USERS_FILE": str(users)})
    try:
        barrier = threading.Barrier(16)
        statuses = []

        def guess():
            barrier.wait(10)
            statuses.append(wrong_login(url, "bob"))

        threads = [threading.Thread(target=guess) for _ in range(16)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(60)
    finally:
        stop(proc)
    assert len(statuses) == 16
    assert statuses.count(401) <= 3 and statuses.count(429) >= 13, statuses


def _raw(port, data: bytes, wait: float = 5.0, then: bytes | None = None, pause: float = 0.0) -> bytes:
    """Send ``data`` (then, after ``pause``, ``then``) on a fresh connection; what the server answered."""
    s = socket.create_connection(("127.0.0.1", port), timeout=wait)
    try:
        s.sendall(data)
        if then is not None:
            time.sleep(pause)
            s.sendall(then)
        out = b""
        end = time.monotonic() + wait
        while time.monotonic() < end:
            try:
                chunk = s.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not chunk:
                break
            out += chunk
            if b"\r\n\r\n" in out and (b"Connection: close" in out or b"100 Continue" in out and then is None):
                break
        return out
    finally:
        s.close()


def test_the_request_reader_answers_incomplete_oversized_and_chunked_requests(tmp_path):
    """The worker's own answers: 408 when the read deadline passes, 413 for a body over 2 MB, 411 for a
    chunked body, 100 Continue before a body that waits for it; and pipelined requests still work."""
    url, proc, log = start_server(tmp_path, "gunicorn", {"DASHBOARD_READ_TIMEOUT": "2"})
    port = int(url.rsplit(":", 1)[1])
    try:
        t = time.monotonic()
        out = _raw(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n", wait=6)
        assert out.startswith(b"HTTP/1.1 408") and 1.5 < time.monotonic() - t < 5, out[:80]
        out = _raw(port, b"POST /_dash-update-component HTTP/1.1\r\nHost: x\r\nContent-Length: 3000000\r\n\r\n",
                   then=b"x" * 3_000_000)
        assert out.startswith(b"HTTP/1.1 413"), out[:80]
        chunked = b"POST /login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
        out = _raw(port, chunked)
        assert out.startswith(b"HTTP/1.1 411"), out[:80]
        out = _raw(port, b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
                   then=b"hello", pause=0.3)
        assert out.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 405"), out[:80]
        assert out.count(b"100 Continue") == 1
        two = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        out = _raw(port, two)
        assert out.count(b"HTTP/1.1 200") == 2, out
        status, _h, body, _t = http_request(url, path="/_dash-layout")
        assert status == 200 and b"Patient" in body
    finally:
        stop(proc)
    assert "Traceback" not in log.read_text()
