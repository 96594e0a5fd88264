"""Limits of every upstream request (the misbehaving servers are in tests/functional)."""

import socket

import pytest

from imgsync import exceptions
from imgsync.upstream import http as upstream_mod

URL = "http://user:s3cret@mirror.test/x/SHA256SUMS"


def upstream(**kwargs):
    return upstream_mod.Upstream(5, 0, **kwargs)


def test_documents_are_read_as_published(requests_mock):
    requests_mock.get(URL, content=b"abc  x.img\n")
    assert upstream().get_bytes(URL) == b"abc  x.img\n"
    assert requests_mock.last_request.headers["Accept-Encoding"] == "identity"


@pytest.mark.parametrize("encoding", ["gzip", "br", "deflate"])
def test_an_encoded_answer_is_refused_naming_the_url(requests_mock, encoding):
    requests_mock.get(URL, content=b"\x1f\x8b...", headers={"Content-Encoding": encoding})
    with pytest.raises(exceptions.UpstreamError) as refused:
        upstream().get_bytes(URL)
    message = str(refused.value)
    assert f"answered with Content-Encoding {encoding}" in message
    assert "user:***@mirror.test/x/SHA256SUMS" in message and "s3cret" not in message


def test_a_document_past_the_size_cap_is_refused(requests_mock):
    requests_mock.get(URL, content=b"a" * (64 << 10))
    assert len(upstream(max_document_size=64 << 10).get_bytes(URL)) == 64 << 10
    with pytest.raises(exceptions.UpstreamError, match="larger than 65535 bytes"):
        upstream(max_document_size=(64 << 10) - 1).get_bytes(URL)


def test_http_errors_name_the_url_without_credentials(requests_mock):
    requests_mock.get(URL, status_code=503, reason="Service Unavailable")
    with pytest.raises(exceptions.UpstreamError) as failed:
        upstream().get_text(URL)
    assert str(failed.value) == ("http://user:***@mirror.test/x/SHA256SUMS answered HTTP 503 "
                                 "Service Unavailable")
    assert failed.value.status == 503


def test_retry_after_is_capped():
    adapter = upstream().session.get_adapter("https://mirror.test/")
    assert adapter.max_retries.retry_after_max == upstream_mod.RETRY_AFTER_MAX <= 60


def test_images_stream_raw_with_their_length(requests_mock):
    requests_mock.get(URL, content=b"q" * 1000, headers={"Content-Length": "1000"})
    with upstream().open(URL) as (chunks, length):
        assert length == 1000 and b"".join(chunks) == b"q" * 1000


def test_the_ca_bundle_and_proxy_variables_keep_working(monkeypatch, tmp_path):
    bundle = tmp_path / "bundle.pem"
    bundle.write_text("")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    monkeypatch.setenv("https_proxy", "http://proxy.test:3128")
    plain = upstream()
    settings = plain.session.merge_environment_settings(
        "https://mirror.test/x", {}, None, plain.verify, None)
    assert settings["verify"] == str(bundle)
    assert settings["proxies"]["https"] == "http://proxy.test:3128"
    private = upstream(ca_file="/etc/private-ca.pem")
    settings = private.session.merge_environment_settings(
        "https://mirror.test/x", {}, None, private.verify, None)
    assert settings["verify"] == "/etc/private-ca.pem"   # a driver's ca_file wins


def test_a_redirect_from_https_to_http_is_refused(requests_mock):
    requests_mock.get("https://mirror.test/x/SHA256SUMS", status_code=302,
                      headers={"Location": "http://evil.test/SHA256SUMS"})
    requests_mock.get("http://evil.test/SHA256SUMS", text="forged")
    with pytest.raises(exceptions.UpstreamError, match="never follows a redirect from https"):
        upstream().get_bytes("https://mirror.test/x/SHA256SUMS")
    assert requests_mock.call_count == 1


def test_a_redirect_within_https_is_followed(requests_mock):
    requests_mock.get("https://mirror.test/x/SHA256SUMS", status_code=302,
                      headers={"Location": "https://cdn.test/SHA256SUMS"})
    requests_mock.get("https://cdn.test/SHA256SUMS", text="ok")
    assert upstream().get_bytes("https://mirror.test/x/SHA256SUMS") == b"ok"


def test_a_host_that_does_not_resolve_is_tried_once_with_one_clear_line(monkeypatch):
    calls = []

    def getaddrinfo(host, *args, **kwargs):
        calls.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    client = upstream_mod.Upstream(timeout=5, retries=3)
    with pytest.raises(exceptions.UpstreamError) as caught:
        client.get_text("http://mirror.example.invalid/ubuntu/")
    assert calls == ["mirror.example.invalid"]
    assert str(caught.value) == (
        "cannot reach http://mirror.example.invalid/ubuntu/: the host name "
        "mirror.example.invalid does not resolve (check base_url and DNS)")
