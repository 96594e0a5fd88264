import fcntl
import io
import logging
import os
import select
import struct
import termios

import pytest

from imgsync import exceptions
from imgsync.pipeline import progress

LOG = logging.getLogger("tests.progress")
CHUNKS = [b"a" * 1024, b"b" * 1024, b"c" * 1024]


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture
def logged(monkeypatch):
    """The messages LOG gets; kept from the root logger, where other tests leave handlers."""
    handler = _Records()
    monkeypatch.setattr(LOG, "propagate", False)
    monkeypatch.setattr(LOG, "level", logging.INFO)
    LOG.addHandler(handler)
    yield handler.messages
    LOG.removeHandler(handler)


@pytest.fixture(params=[0, 100], ids=["unsized", "sized"])
def terminal(request):
    """(master fd, stream on the slave side) of a pseudo-terminal ``params`` columns wide."""
    master, slave = os.openpty()
    if request.param:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, request.param, 0, 0))
    stream = os.fdopen(slave, "w", encoding="utf-8")
    yield master, stream
    stream.close()
    os.close(master)


def shown(master):
    """What the terminal received, up to the newline that closes the progress line."""
    data = b""
    while not data.endswith(b"\n") and select.select([master], [], [], 5)[0]:
        data += os.read(master, 65536)
    return data.decode()


def failing(error):
    yield CHUNKS[0]
    raise error


def test_terminal_shows_a_progress_line(terminal, logged):
    master, stream = terminal
    passed = list(progress.track(iter(CHUNKS), 3072, "debian 12 amd64", LOG, stream))
    assert passed == CHUNKS and all(a is b for a, b in zip(passed, CHUNKS, strict=True))
    line = shown(master).split("\r")[-2]  # the last render, before the closing newline
    assert line.startswith("debian 12 amd64: 100%") and "3.00k/3.00k" in line
    assert not logged


def test_terminal_without_a_total(terminal):
    master, stream = terminal
    list(progress.track(iter(CHUNKS), None, "flatcar", LOG, stream))
    assert "flatcar: 3.00kB" in shown(master)


@pytest.mark.parametrize("close", [True, False], ids=["closed", "failed"])
def test_terminal_line_is_closed_when_the_transfer_stops(terminal, close):
    master, stream = terminal
    error = exceptions.UpstreamError("http://127.0.0.1/x.img was truncated")
    chunks = progress.track(failing(error), 3072, "rocky", LOG, stream)
    assert next(chunks) is CHUNKS[0]
    if close:
        chunks.close()
    else:
        with pytest.raises(exceptions.UpstreamError) as info:
            next(chunks)
        assert info.value is error
    output = shown(master)
    assert output.endswith("\n") and "1.00k/3.00k" in output


def pipe_stream():
    read, write = os.pipe()
    stream = os.fdopen(write, "w")

    def written():
        stream.close()
        with os.fdopen(read, "rb") as pipe:
            return pipe.read()
    return stream, written


def string_stream():
    stream = io.StringIO()
    return stream, stream.getvalue


@pytest.mark.parametrize("make", [pipe_stream, string_stream])
def test_elsewhere_only_two_log_lines(logged, make):
    stream, written = make()
    passed = list(progress.track(iter(CHUNKS), 3072, "debian", LOG, stream))
    assert all(a is b for a, b in zip(passed, CHUNKS, strict=True))
    assert not written()
    start, end = logged
    assert start == "debian: downloading 3072 bytes (0.0 MiB)"
    assert end.startswith("debian: 3072 bytes in ") and end.endswith(" MiB/s)")


def test_default_stream_is_stderr(logged, capsys):
    assert list(progress.track(iter(CHUNKS), None, "ubuntu", LOG)) == CHUNKS
    assert capsys.readouterr().err == ""
    assert logged[0] == "ubuntu: downloading unknown size"


def test_elsewhere_a_failure_propagates_without_the_closing_line(logged):
    error = exceptions.ChecksumMismatch("http://127.0.0.1/x.img", "sha256", "0" * 64, "1" * 64)
    with pytest.raises(exceptions.ChecksumMismatch) as info:
        list(progress.track(failing(error), 3072, "debian", LOG, io.StringIO()))
    assert info.value is error
    assert logged == ["debian: downloading 3072 bytes (0.0 MiB)"]
