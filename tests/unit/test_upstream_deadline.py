"""A small document arrives whole, status line and headers included, within
``document_timeout``: a loopback server that drips its answer one byte at a time, each well
within the socket timeout, is cut off at the deadline. The drips would last over a minute."""

import socket
import threading
import time

import pytest

from imgsync import exceptions
from imgsync.upstream import http as upstream_mod

INTERVAL = 0.5
"""Seconds between two dripped bytes: far less than the socket timeout (http_timeout)."""
PAD = b"X-Pad: " + b"a" * 140 + b"\r\n"
"""A header line whose drip alone lasts 74 s."""
SLACK = 8
"""Seconds a cut-off request may take beyond its deadline (the old code took minutes)."""


class DripServer:
    """Answers the first connection with ``head`` at once, then ``answer`` one byte every
    ``interval`` seconds, and closes any later one at once; stops when the test ends."""

    def __init__(self, answer, interval=INTERVAL, head=b""):
        self.answer, self.interval, self.head = answer, interval, head
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.stopped = threading.Event()
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self):
        return f"http://user:s3cret@127.0.0.1:{self.listener.getsockname()[1]}/x/SHA256SUMS"

    def _serve(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return   # the listener was closed: the test is over
            self.connections += 1
            if self.connections > 1:
                conn.close()
                continue
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn):
        with conn:
            conn.recv(65536)
            conn.sendall(self.head)
            for byte in self.answer:
                if self.stopped.wait(self.interval):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return   # the client gave up

    def stop(self):
        self.stopped.set()
        self.listener.close()


@pytest.fixture
def drip():
    servers = []

    def start(answer, interval=INTERVAL, head=b""):
        servers.append(DripServer(answer, interval, head))
        return servers[-1]
    yield start
    for server in servers:
        server.stop()


def upstream(retries=3):
    return upstream_mod.Upstream(timeout=30, retries=retries, document_timeout=1)


def fails_at_the_deadline(call, server, why="took longer than 1 s"):
    started = time.monotonic()
    with pytest.raises(exceptions.UpstreamError) as late:
        call(server.url)
    elapsed = time.monotonic() - started
    shown = server.url.replace("s3cret", "***")
    assert str(late.value) == f"{shown} {why}"
    assert elapsed < 1 + SLACK
    assert server.connections == 1   # no retry once the deadline has passed


def test_dripped_headers_of_a_document_are_cut_off_at_the_deadline(drip):
    server = drip(b"HTTP/1.1 200 OK\r\n" + PAD)
    fails_at_the_deadline(upstream().get_bytes, server)


def test_a_dripped_status_line_of_a_head_request_is_cut_off_at_the_deadline(drip):
    server = drip(b"HTTP/1.1 200 " + b"O" * 150)
    fails_at_the_deadline(upstream().last_modified, server)


def test_a_dripped_body_without_a_length_is_not_taken_for_the_whole_document(drip):
    server = drip(b"a" * 150, head=b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
    fails_at_the_deadline(upstream().get_bytes, server)


def test_no_retry_pause_outlasts_the_deadline(drip):
    server = drip(b"HTTP/1.1 503 Busy\r\nRetry-After: 30\r\nContent-Length: 0\r\n\r\n", 0)
    fails_at_the_deadline(upstream().get_bytes, server, why=(
        "answered HTTP 503 Busy, and a retry after 30 s would end past document_timeout (1 s)"))


def test_the_deadline_of_a_document_leaves_its_connection_to_the_next_request():
    listener = socket.create_server(("127.0.0.1", 0))

    def serve():   # one kept-alive connection, two answers
        with listener.accept()[0] as conn:
            for body in (b"doc", b"image"):
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s"
                             % (len(body), body))
    threading.Thread(target=serve, daemon=True).start()
    try:
        site = upstream_mod.Upstream(timeout=5, retries=0, document_timeout=1)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
        assert site.get_bytes(url + "doc") == b"doc"
        time.sleep(1.5)   # past the document's deadline: its watchdog must not shut the socket
        with site.open(url + "image") as (chunks, length):
            assert b"".join(chunks) == b"image" and length == 5
    finally:
        listener.close()
