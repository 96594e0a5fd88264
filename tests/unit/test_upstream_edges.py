"""Tests that kill the surviving mutmut mutants of imgsync/upstream/http.py.

requests_mock replaces the transport adapter, so the retry policy is checked on the
adapter's Retry object; slow and stalled reads run on a fake clock.
"""

import datetime
import http.client
import io
import types

import pytest
import requests

from imgsync import exceptions
from imgsync.upstream import http as upstream_mod

URL = "http://user:s3cret@mirror.test/x/SHA256SUMS"
SHOWN = "http://user:***@mirror.test/x/SHA256SUMS"
DATE = "Wed, 15 Oct 2025 09:00:00 GMT"


def upstream(**kwargs):
    return upstream_mod.Upstream(5, 0, **kwargs)


class Body(io.BufferedIOBase):
    """A response body that arrives ``step`` bytes per read, then fails with ``exc``."""

    def __init__(self, data, exc=None, step=None):
        self.data, self.exc, self.step = data, exc, step

    def readable(self):
        return True

    def read1(self, size=-1):
        if not self.data and self.exc:
            raise self.exc
        size = min(n for n in (size if size and size > 0 else len(self.data),
                               self.step or len(self.data)))
        out, self.data = self.data[:size], self.data[size:]
        return out

    read = read1


class Clock:
    def __init__(self, step=0.0):
        self.now, self.step = 0.0, step

    def monotonic(self):
        self.now += self.step
        return self.now


# -- the session: retries, headers, adapters ------------------------------------------

@pytest.mark.parametrize("scheme", ["http", "https"])
def test_the_retry_policy_of_both_schemes(scheme):
    # kills __init__ mutmut_21-23, 27-29, 31, 33-45
    policy = upstream_mod.Upstream(5, 3).session.get_adapter(f"{scheme}://mirror.test/").max_retries
    assert policy.total == 3 and policy.backoff_factor == 1
    assert not policy.raise_on_status   # the last answer is returned, and named with its status
    for status in (429, 500, 502, 503, 504):
        assert policy.is_retry("GET", status) and policy.is_retry("HEAD", status)
    for status in (404, 501, 505):
        assert not policy.is_retry("GET", status)


def test_requests_carry_user_agent_timeout_and_ca_file(requests_mock):
    # kills __init__ mutmut_14, _get mutmut_5/7/9/11, last_modified mutmut_12/14/16/18
    requests_mock.get(URL, content=b"x")
    requests_mock.head(URL, headers={"Last-Modified": DATE})
    session = upstream(user_agent="imgsync/9.9", ca_file="/etc/private-ca.pem")
    session.get_bytes(URL)
    session.last_modified(URL)
    for request in requests_mock.request_history:
        assert request.headers["User-Agent"] == "imgsync/9.9"
        assert request.timeout == 5 and request.verify == "/etc/private-ca.pem"


def test_an_unreachable_upstream_names_url_and_cause(requests_mock):
    # kills _get mutmut_14, last_modified mutmut_20/21
    cause = requests.ConnectionError(f"refused by {URL}")
    requests_mock.get(URL, exc=cause)
    requests_mock.head(URL, exc=cause)
    for call in (upstream().get_bytes, upstream().last_modified):
        with pytest.raises(exceptions.UpstreamError) as failed:
            call(URL)
        assert str(failed.value) == f"cannot reach {SHOWN}: refused by {SHOWN}"


# -- small documents -------------------------------------------------------------------

def test_a_document_larger_than_one_chunk_is_read_whole(requests_mock):
    # kills get_bytes mutmut_17 (body = chunk)
    document = bytes(range(256)) * 4000   # about 1 MB: four reads
    requests_mock.get(URL, content=document)
    assert upstream().get_bytes(URL) == document


def test_the_size_cap_names_the_url(requests_mock):
    # kills get_bytes mutmut_21
    requests_mock.get(URL, content=b"a" * 100)
    with pytest.raises(exceptions.UpstreamError) as refused:
        upstream(max_document_size=99).get_bytes(URL)
    assert str(refused.value).startswith(f"{SHOWN} is larger than 99 bytes")


def test_a_document_past_its_deadline_is_refused(requests_mock, monkeypatch):
    # kills get_bytes mutmut_25/26 (the deadline path had no test)
    requests_mock.get(URL, content=bytes(1 << 20))
    monkeypatch.setattr(upstream_mod, "time", Clock(step=3.0))
    with pytest.raises(exceptions.UpstreamError) as late:
        upstream(document_timeout=10).get_bytes(URL)
    assert str(late.value) == f"{SHOWN} took longer than 10 s"


def test_a_broken_document_names_the_url(requests_mock):
    # kills get_bytes mutmut_14 (_reads(response, None))
    requests_mock.get(URL, body=Body(b"q" * 100, http.client.IncompleteRead(b"", 900)),
                      headers={"Content-Length": "1000"})
    with pytest.raises(exceptions.UpstreamError) as cut:
        upstream().get_bytes(URL)
    assert str(cut.value).startswith(f"{SHOWN} was truncated")


def test_text_replaces_undecodable_bytes(requests_mock):
    # kills get_text mutmut_4/8/9
    requests_mock.get(URL, content=b"caf\xe9 ok")
    assert upstream().get_text(URL) == "caf\ufffd ok"


# -- Last-Modified ---------------------------------------------------------------------

def test_last_modified_follows_redirects(requests_mock):
    # kills last_modified mutmut_13/17/19 (allow_redirects None / omitted / False)
    requests_mock.head(URL, status_code=302, headers={"Location": "http://cdn.test/SHA256SUMS"})
    requests_mock.head("http://cdn.test/SHA256SUMS", headers={"Last-Modified": DATE})
    assert upstream().last_modified(URL) == datetime.date(2025, 10, 15)


def test_last_modified_http_errors_name_url_and_status(requests_mock):
    # kills last_modified mutmut_1/2/24-27
    requests_mock.head(URL, status_code=404, reason="Not Found")
    with pytest.raises(exceptions.UpstreamError) as failed:
        upstream().last_modified(URL)
    assert str(failed.value) == f"{SHOWN} answered HTTP 404 Not Found"
    assert failed.value.status == 404


@pytest.mark.parametrize("header,found", [({"Last-Modified": "yesterday"}, "'yesterday'"),
                                          ({}, "None")])
def test_last_modified_without_a_date_is_a_layout_error(requests_mock, header, found):
    # kills last_modified mutmut_34-39, 43
    requests_mock.head(URL, headers=header)
    with pytest.raises(exceptions.LayoutError) as odd:
        upstream().last_modified(URL)
    assert str(odd.value) == (f"unexpected upstream layout at {SHOWN}: expected a Last-Modified "
                              f"header with a date, found {found}")


# -- image streams ---------------------------------------------------------------------

def test_images_arrive_in_chunks_of_at_most_chunk_size(requests_mock):
    # kills _reads mutmut_9/11 (read1 without a size)
    requests_mock.get(URL, content=bytes(3 * upstream_mod.CHUNK_SIZE + 5))
    with upstream().open(URL) as (chunks, _):
        sizes = [len(chunk) for chunk in chunks]
    assert sum(sizes) == 3 * upstream_mod.CHUNK_SIZE + 5
    assert max(sizes) <= upstream_mod.CHUNK_SIZE


def test_open_enforces_min_rate(requests_mock, monkeypatch):
    # kills __init__ mutmut_8 (min_rate = None)
    requests_mock.get(URL, content=bytes(1 << 20))
    monkeypatch.setattr(upstream_mod, "time", Clock(step=3.0))
    with pytest.raises(exceptions.UpstreamError, match="too slow"):
        with upstream(min_rate=1 << 20).open(URL) as (chunks, _):
            list(chunks)


class Paced:
    """A response whose reads take scripted seconds on a fake clock."""

    def __init__(self, clock, script):
        self.script = list(script)
        self.headers = requests.structures.CaseInsensitiveDict()
        self.raw = types.SimpleNamespace(read1=self.read1)
        self.clock = clock

    def read1(self, size, decode_content=None):
        if not self.script:
            return b""
        seconds, n = self.script.pop(0)
        self.clock.now += seconds
        return b"x" * n


def paced(monkeypatch, script, rate=1000, window=5):
    clock = Clock()
    monkeypatch.setattr(upstream_mod, "time", clock)
    return b"".join(upstream_mod._reads(Paced(clock, script), URL, rate, window))


@pytest.mark.parametrize("script", [
    [(5.0, 5000)],                          # exactly min_rate over exactly the window
    [(2.5, 2500), (2.5, 2500)],             # the same, over two reads
    [(5.0, 5000), (4.0, 4000)],             # a new window starts empty
])
def test_min_rate_is_met(monkeypatch, script):
    # kills _reads mutmut_3, 20, 21, 24, 28, 29
    assert len(paced(monkeypatch, script)) == sum(n for _, n in script)


@pytest.mark.parametrize("script,received,seconds", [
    ([(5.0, 4999)], 4999, 5),                # one byte short, over exactly the window
    ([(2.5, 2500), (2.5, 2499)], 4999, 5),    # the same, over two reads
    ([(5.0, 5000), (5.0, 4999)], 4999, 5),    # the second window counts from zero
])
def test_min_rate_is_missed(monkeypatch, script, received, seconds):
    # kills _reads mutmut_5, 14, 15, 23, 25, 26, 27, 28, 30
    with pytest.raises(exceptions.UpstreamError) as slow:
        paced(monkeypatch, script)
    assert str(slow.value) == (f"download of {SHOWN} is too slow: {received} bytes in "
                               f"{seconds} s, less than 1000 bytes/s")


def test_a_truncated_image_says_how_much_arrived(requests_mock):
    # kills _reads mutmut_18/19/31-35
    requests_mock.get(URL, body=Body(b"q" * 100, http.client.IncompleteRead(b"", 900), step=60),
                      headers={"Content-Length": "1000"})
    with pytest.raises(exceptions.UpstreamError) as cut:
        with upstream().open(URL) as (chunks, _):
            list(chunks)
    assert str(cut.value) == (f"{SHOWN} was truncated: the connection closed after 100 of the "
                              "1000 bytes announced")


@pytest.mark.parametrize("exc,cause", [(ConnectionResetError("reset by peer"), "reset by peer"),
                                       (TimeoutError("timed out"), "Read timed out")])
def test_a_failed_read_names_url_and_cause(requests_mock, exc, cause):
    # kills _reads mutmut_40-45
    requests_mock.get(URL, body=Body(b"q" * 100, exc))
    with pytest.raises(exceptions.UpstreamError) as failed:
        with upstream().open(URL) as (chunks, _):
            list(chunks)
    message = str(failed.value)
    assert message.startswith(f"download of {SHOWN} failed: ") and cause in message


# -- redirects -------------------------------------------------------------------------

def test_a_redirect_within_http_is_followed(requests_mock):
    # kills _no_downgrade mutmut_1 (is_redirect or https)
    requests_mock.get("http://mirror.test/a", status_code=302,
                      headers={"Location": "http://mirror.test/b"})
    requests_mock.get("http://mirror.test/b", text="ok")
    assert upstream().get_bytes("http://mirror.test/a") == b"ok"


def test_a_relative_redirect_within_https_is_followed(requests_mock):
    # kills _no_downgrade mutmut_7 (urljoin(None, location))
    requests_mock.get("https://mirror.test/x/SHA256SUMS", status_code=302,
                      headers={"Location": "/y/SHA256SUMS"})
    requests_mock.get("https://mirror.test/y/SHA256SUMS", text="ok")
    assert upstream().get_bytes("https://mirror.test/x/SHA256SUMS") == b"ok"


def test_a_refused_redirect_names_both_urls(requests_mock):
    # kills _no_downgrade mutmut_24/25
    requests_mock.get("https://u:pw@mirror.test/x", status_code=302,
                      headers={"Location": "http://u:pw@evil.test/x"})
    with pytest.raises(exceptions.UpstreamError) as refused:
        upstream().get_bytes("https://u:pw@mirror.test/x")
    assert str(refused.value).startswith(
        "https://u:***@mirror.test/x redirects to http://u:***@evil.test/x: imgsync never")
