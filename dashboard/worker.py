"""A gunicorn ``gthread`` worker that hands a request to a thread only once the request has fully arrived.

gunicorn's gthread worker gives a connection a thread as soon as its first byte arrives; the thread then
reads the rest of the headers and the body with blocking reads and no deadline.  Eight connections that
send a header line every few seconds (or sixteen that trickle a body) therefore hold every thread of a
2-worker x 4-thread server, and logged-in users wait for nothing.  gunicorn 27 has no header or body read
timeout to set, so this worker reads each request in its event loop instead (non-blocking, no thread),
the way a buffering proxy does:

- a request is handed to the thread pool when its headers and its whole ``Content-Length`` body are in;
- the headers must arrive within ``DASHBOARD_READ_TIMEOUT`` seconds (default 10) of the connection (or of
  a kept-alive connection turning readable), the body within that plus one second per 64 kB; a request
  still incomplete then is answered 408 and closed;
- a body larger than the app accepts is answered 413 at once (and read to the end, or the deadline,
  so that the client sees the answer), and ``Transfer-Encoding`` bodies 411 (Dash sends Content-Length);
- headers larger than gunicorn's own limits allow are answered 431;
- ``Expect: 100-continue`` is answered here, before the body is read.

A slow client costs one socket and its buffer, not a thread: the number of them is bounded by
``worker_connections`` per worker and each lives at most until its deadline.  A response that the client
stops reading frees its thread after ``SEND_TIMEOUT`` seconds without progress (SO_SNDTIMEO).
TLS connections (``certfile`` set) are served as plain gthread does: terminate TLS at the proxy.
"""

from __future__ import annotations

import os
import selectors
import socket
import struct
import time
from functools import partial

from gunicorn.workers.gthread import ThreadWorker

READ_TIMEOUT_ENV = "DASHBOARD_READ_TIMEOUT"
#: Largest request body accepted (dashboard.security.MAX_CONTENT_LENGTH, which Flask enforces too).
MAX_BODY = 2 * 1024 * 1024
#: Extra seconds of read deadline per this many body bytes.
BODY_BYTES_PER_SECOND = 64 * 1024
SEND_TIMEOUT = 30
RECV_SIZE = 65536


def read_timeout() -> float:
    try:
        value = float(os.environ.get(READ_TIMEOUT_ENV, "10"))
    except ValueError:
        value = 10.0
    return min(max(value, 0.5), 300.0)


def _reply(status: str) -> bytes:
    body = status.split(" ", 1)[1].encode() + b"\n"
    return (f"HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\nX-Content-Type-Options: nosniff\r\n\r\n").encode() + body


class _Pending:
    """A request being read: its bytes so far and its deadline."""

    __slots__ = ("buf", "deadline", "header_end", "need", "discard", "fresh")

    def __init__(self, buf: bytes, deadline: float, fresh: bool):
        self.buf = bytearray(buf)
        self.deadline = deadline
        self.header_end = None  # offset just past the blank line, once seen
        self.need = None  # total bytes of headers and body, once known
        self.discard = None  # body bytes still to throw away after a 413
        self.fresh = fresh  # nothing received yet on this request


class BufferedThreadWorker(ThreadWorker):
    """gthread, with each request read in full by the event loop before a thread sees it."""

    def init_process(self):
        self._reading: dict = {}  # conn -> _Pending (this worker's connections being read)
        self._timeout = read_timeout()
        c = self.cfg
        self._max_header = c.limit_request_line + c.limit_request_fields * (c.limit_request_field_size + 2) + 8
        super().init_process()

    # -- the event loop side

    def enqueue_req(self, conn):
        if self.cfg.is_ssl:
            return super().enqueue_req(conn)
        leftover = b""
        if conn.parser is not None:  # kept alive, or pipelined bytes read ahead by the last request's body
            leftover = conn.parser.unreader.take_buffered()
        pending = _Pending(leftover, time.monotonic() + self._timeout, fresh=not leftover)
        self._reading[conn] = pending
        try:
            conn.sock.setblocking(False)
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_readable, conn))
        except (OSError, ValueError, KeyError):
            self._drop(conn)
            return None
        if not self._advance(conn, pending):
            self._on_readable(conn, conn.sock)  # data is often there already
        return None

    def _on_readable(self, conn, _sock):
        pending = self._reading.get(conn)
        if pending is None:
            return
        try:
            data = conn.sock.recv(RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._drop(conn)
            return
        if not data:  # the client closed (or half-closed without a complete request)
            self._drop(conn)
            return
        if pending.discard is not None:
            pending.discard -= len(data)
            if pending.discard <= 0:
                self._drop(conn, graceful=True)
            return
        pending.fresh = False
        pending.buf += data
        self._advance(conn, pending)

    def _advance(self, conn, p: _Pending) -> bool:
        """Look at what has arrived; dispatch, answer or wait.  True if the connection left the reading set."""
        buf = p.buf
        if p.header_end is None:
            start = 0
            while buf.startswith(b"\r\n", start):  # empty lines before a request line are allowed
                start += 2
            end = buf.find(b"\r\n\r\n", start)
            if end < 0:
                if buf.find(b"\n\n", start) >= 0:  # bare-LF line ends: gunicorn's parser answers them
                    return self._dispatch(conn, p)
                if len(buf) > self._max_header:
                    return self._answer(conn, "431 Request Header Fields Too Large")
                return False
            p.header_end = end + 4
            length, chunked, expect = self._framing(bytes(buf[start:end]))
            if chunked:
                return self._answer(conn, "411 Length Required")
            if length is None:  # no body, or a malformed length that the parser will refuse
                p.need = p.header_end
                return self._dispatch(conn, p)
            if length > MAX_BODY:
                body_in = len(buf) - p.header_end
                return self._answer(conn, "413 Content Too Large", discard=length - body_in)
            if expect:
                # answer it here (gunicorn would only once a thread reads the body) and drop the header line
                head = bytes(buf[:p.header_end])
                lines = head.split(b"\r\n")
                kept = [ln for ln in lines if not ln.lower().startswith(b"expect:")]
                new_head = b"\r\n".join(kept)
                p.buf = buf = bytearray(new_head) + buf[p.header_end:]
                p.header_end = len(new_head)
                if len(buf) < p.header_end + length:
                    self._send(conn, b"HTTP/1.1 100 Continue\r\n\r\n")
            p.need = p.header_end + length
            p.deadline += length / BODY_BYTES_PER_SECOND
        if len(buf) >= p.need:
            return self._dispatch(conn, p)
        return False

    @staticmethod
    def _framing(head: bytes) -> tuple[int | None, bool, bool]:
        """(Content-Length or None, whether Transfer-Encoding is present, whether 100-continue is expected)."""
        length = None
        chunked = expect = False
        for line in head.split(b"\r\n")[1:]:
            name, _sep, value = line.partition(b":")
            name = name.strip().lower()
            value = value.strip()
            if name == b"content-length":
                if not value.isdigit() or (length is not None and int(value) != length):
                    return None, False, False  # malformed: let the parser answer 400 without reading a body
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = True
            elif name == b"expect" and value.lower() == b"100-continue":
                expect = True
        return (length if length else None), chunked, expect and bool(length)

    def _dispatch(self, conn, p: _Pending) -> bool:
        self._forget(conn)
        conn.prebuf = bytes(p.buf)
        super().enqueue_req(conn)
        return True

    def _answer(self, conn, status: str, discard: int | None = None) -> bool:
        """Answer from the loop and close (after reading and dropping ``discard`` more bytes)."""
        self._send(conn, _reply(status))
        p = self._reading.get(conn)
        if discard and discard > 0 and p is not None:
            p.discard = discard
            p.buf = bytearray()
            return False
        self._drop(conn, graceful=True)
        return True

    @staticmethod
    def _send(conn, data: bytes) -> None:
        try:
            conn.sock.setblocking(False)
            conn.sock.send(data)
        except OSError:
            pass

    def _forget(self, conn):
        self._reading.pop(conn, None)
        try:
            self.poller.unregister(conn.sock)
        except (OSError, KeyError, ValueError):
            pass

    def _drop(self, conn, graceful: bool = False):
        self._forget(conn)
        self.nr_conns -= 1
        try:
            if graceful:
                conn.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        conn.close()

    def murder_pending(self):
        super().murder_pending()
        now = time.monotonic()
        for conn, p in list(self._reading.items()):
            if p.deadline <= now or (not self.alive and p.fresh):  # stopping: nothing to wait for there
                if not p.fresh and p.discard is None:
                    self._send(conn, _reply("408 Request Timeout"))
                self._drop(conn)

    # -- the thread side

    def handle(self, conn):
        buf = getattr(conn, "prebuf", None)
        if buf is not None:
            conn.prebuf = None
            try:
                conn.sock.setblocking(True)
                conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", SEND_TIMEOUT, 0))
                conn.init()
            except OSError:
                return False
            conn.parser.unreader.unread(buf)
        return super().handle(conn)
