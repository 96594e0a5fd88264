"""Credentials masked at the source: exceptions, free text, configuration errors, the log
filter's tracebacks, and the metrics file read back."""

import inspect
import logging
import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

from imgsync import exceptions
from imgsync import redact
from imgsync.engine.executor import Result
from imgsync.ops import metrics

SECRET_URL = "https://user:secret@127.0.0.1/x"
ROOT = str(pathlib.Path(redact.__file__).resolve().parents[1])


def _error_classes():
    return [cls for _, cls in inspect.getmembers(exceptions, inspect.isclass)
            if issubclass(cls, exceptions.ImgsyncError)]


@pytest.mark.parametrize("cls", _error_classes(), ids=lambda cls: cls.__name__)
def test_every_exception_masks_the_urls_it_is_built_with(cls):
    required = [p for p in inspect.signature(cls).parameters.values()
                if p.default is inspect.Parameter.empty]
    exc = cls(*(f"{p.name} {SECRET_URL}" for p in required))
    assert "secret" not in str(exc) and "secret" not in repr(exc.args)
    assert "user:***@127.0.0.1" in str(exc)
    if isinstance(exc, exceptions.LayoutError):
        assert exc.url == "url https://user:***@127.0.0.1/x"


def test_the_exception_classes_are_all_found():
    names = {cls.__name__ for cls in _error_classes()}
    assert {"ImgsyncError", "LayoutError", "ChecksumMismatch", "UpstreamError",
            "GlanceError", "ConfigError", "SignatureError"} <= names


@pytest.mark.parametrize("text,masked", [
    ("cannot reach https://user:pa/ss@mirror/x: timeout",
     "cannot reach https://user:***@mirror/x: timeout"),
    ("GET https://user:p?w#d@mirror/a/b?c=1 failed",
     "GET https://user:***@mirror/a/b?c=1 failed"),
    ("https://user:a#b/c?d@mirror/ and http://u:v@h/", "https://user:***@mirror/ and http://u:***@h/"),
    ("redis://:pw/x@127.0.0.1:6379", "redis://:***@127.0.0.1:6379"),
    ("https://user:p@ss@host/x@y", "https://user:***@host/x@y"),
    ("https://host/path/x@y and https://host:8080", "https://host/path/x@y and https://host:8080"),
    ("'https://u:p@h' (https://t@h)", "'https://u:***@h' (https://***@h)"),
    ("no url: a@b c://", "no url: a@b c://"),
])
def test_passwords_holding_slash_query_or_hash_are_masked_in_free_text(text, masked):
    assert redact.text(text) == masked


@pytest.mark.parametrize("value,masked", [
    ("https://user:pa ss@mirror/", "https://user:***@mirror/"),
    ("https://user:p@s#s@mirror/x", "https://user:***@mirror/x"),
    ("https://tok en@mirror/", "https://***@mirror/"),
    ("user:pass@mirror/", "user:***@mirror/"),
    ("https://mirror/x", "https://mirror/x"),
])
def test_a_configured_url_is_masked_as_one_url(value, masked):
    assert redact.config_url(value) == masked


HOSTILE = textwrap.dedent("""
    import sys
    from imgsync import redact
    size = 1 << 20
    for unit in ("a", "a://", "a://b:", "a://b:c/", "://@", "a:/", "x://u:p@h"):
        redact.text(unit * (size // len(unit)))
    redact.text("a://" + "a" * size)
    redact.text("a://b:c/" * (size // 8) + "@")
    redact.text(("https://u:p@h/ " * (size // 15)))
    print("done")
""")


def test_masking_a_mebibyte_of_hostile_text_takes_linear_time():
    """Each input is 1 MiB; a quadratic scan of any would take many minutes, the linear
    one well under a second: the hard limit is far from both."""
    done = subprocess.run([sys.executable, "-c", HOSTILE], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": ROOT})
    assert done.stdout == "done\n", done.stderr


@pytest.mark.parametrize("password", ["hunt er2", "hunt#er2", "hunt?er2", "hunt/er2",
                                      "hunt@er#2"])
def test_a_password_a_url_cannot_hold_is_masked_in_the_configuration_error(run, password):
    code, out, err = run("[DEFAULT]\ndistributions = ubuntu-24.04\n[ubuntu-24.04]\n"
                         f"base_url = https://user:{password}@127.0.0.1/ubuntu/\n", "check")
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "[ubuntu-24.04] base_url" in err
    assert "hunt" not in err and "er2" not in err and "https://user:***@127.0.0.1/ubuntu/" in err


def _raise(message):
    try:
        raise RuntimeError(message)
    except RuntimeError:
        return sys.exc_info()


def _record(message, args, exc_info):
    return logging.LogRecord("test-redact", logging.ERROR, __file__, 1, message, args, exc_info)


def test_a_traceback_without_credentials_is_left_alone():
    exc_info = _raise("cannot read https://mirror/x")
    record = _record("driver %s failed", ("ubuntu",), exc_info)
    assert redact.Filter().filter(record)
    assert (record.msg, record.args, record.exc_info) == ("driver %s failed", ("ubuntu",),
                                                          exc_info)
    shown = logging.Formatter().format(record)
    assert shown.startswith("driver ubuntu failed\nTraceback") and "https://mirror/x" in shown


@pytest.mark.parametrize("message,args,error", [
    ("driver %s failed", ("ubuntu",), "cannot read https://u:topsecret@mirror/x"),
    ("cannot read %s", ("https://u:topsecret@mirror/x",), "timeout"),
])
def test_a_traceback_is_folded_and_masked_when_credentials_show(message, args, error):
    record = _record(message, args, _raise(error))
    assert redact.Filter().filter(record)
    assert record.exc_info is None and record.args is None
    shown = logging.Formatter().format(record)
    assert "topsecret" not in shown and "u:***@mirror" in shown
    assert "Traceback" in shown and shown.rstrip().endswith(f"RuntimeError: {redact.text(error)}")


SECRET_METRICS = b'imgsync_transferred_bytes_total 987654321\nimgsync_up{distro="s3cret"} 1\n'


def test_the_metrics_file_is_never_read_through_a_symbolic_link(tmp_path, caplog):
    target = tmp_path / "elsewhere" / "secret.prom"
    target.parent.mkdir()
    target.write_bytes(SECRET_METRICS)
    path = tmp_path / "imgsync.prom"
    path.symlink_to(target)
    with caplog.at_level(logging.WARNING, logger="imgsync.ops.metrics"):
        metrics.write(path, [Result("debian", "uploaded", bytes=7)], 10.0, 40.0, ["debian"])
    written = path.read_text()
    assert "987654321" not in written and "s3cret" not in written
    assert "imgsync_transferred_bytes_total 7.0" in written
    assert "987654321" not in caplog.text and "s3cret" not in caplog.text
    assert [r.getMessage() for r in caplog.records] == [
        f"ignoring the previous metrics in {path}: it is a symbolic link, which this run "
        "replaces"]
    assert not path.is_symlink() and target.read_bytes() == SECRET_METRICS


def test_a_previous_metrics_file_over_the_cap_is_ignored(tmp_path, caplog):
    path = tmp_path / "imgsync.prom"
    path.write_bytes(b"# padding\n" * (metrics.MAX_PREVIOUS // 10)
                     + b"imgsync_transferred_bytes_total 5\n")
    with caplog.at_level(logging.WARNING, logger="imgsync.ops.metrics"):
        metrics.write(path, [Result("debian", "uploaded", bytes=7)], 10.0, 40.0, ["debian"])
    assert "imgsync_transferred_bytes_total 7.0" in path.read_text()
    assert "larger than 1048576 bytes" in caplog.text
