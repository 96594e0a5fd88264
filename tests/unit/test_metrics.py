import logging
import os
import stat

import pytest
from prometheus_client import parser

from imgsync import exceptions
from imgsync.engine.executor import Result
from imgsync.ops import atomic
from imgsync.ops import metrics

SUCCESS, UP = "imgsync_last_success_timestamp_seconds", "imgsync_up"
BYTES = "imgsync_transferred_bytes_total"


def samples(path):
    """{(sample name, distro, action): value} of the metrics file, through Prometheus' parser."""
    return {(sample.name, sample.labels.get("distro"), sample.labels.get("action")): sample.value
            for family in parser.text_string_to_metric_families(path.read_text())
            for sample in family.samples}


def run(path, results, finished, instances=("debian", "ubuntu"), **kwargs):
    metrics.write(path, results, finished - 30, finished, list(instances), **kwargs)
    return samples(path)


@pytest.fixture
def path(tmp_path):
    return tmp_path / "imgsync.prom"


def test_metrics_of_a_run(path):
    got = run(path, [Result("debian", "uploaded", bytes=1000), Result("debian", "up-to-date"),
                     Result("debian", "failed", error="x"), Result("ubuntu", "up-to-date"),
                     Result("ubuntu", "up-to-date")], 1000.0)
    assert got[("imgsync_last_run_timestamp_seconds", None, None)] == 1000.0
    assert got[("imgsync_run_duration_seconds", None, None)] == 30.0
    assert got[(SUCCESS, "ubuntu", None)] == 1000.0
    assert (SUCCESS, "debian", None) not in got  # never succeeded
    assert got[(UP, "ubuntu", None)] == 1 and got[(UP, "debian", None)] == 0
    assert got[("imgsync_actions", "debian", "uploaded")] == 1
    assert got[("imgsync_actions", "debian", "failed")] == 1
    assert got[("imgsync_actions", "ubuntu", "up-to-date")] == 2
    assert got[("imgsync_actions", "ubuntu", "deleted")] == 0
    assert got[(BYTES, None, None)] == 1000
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert os.listdir(path.parent) == [path.name]


def test_dry_run_actions_are_counted(path):
    got = run(path, [Result("debian", "would-upload"), Result("debian", "would-upload")], 10.0,
              instances=["debian"])
    assert got[("imgsync_actions", "debian", "would-upload")] == 2


def test_a_failing_instance_keeps_its_last_success(path):
    run(path, [Result("debian", "up-to-date"), Result("ubuntu", "up-to-date")], 1000.0)
    got = run(path, [Result("debian", "up-to-date"), Result("ubuntu", "failed", error="x")],
              2000.0)
    assert got[(SUCCESS, "debian", None)] == 2000.0
    assert got[(SUCCESS, "ubuntu", None)] == 1000.0
    assert got[(UP, "ubuntu", None)] == 0
    got = run(path, [Result("debian", "up-to-date"), Result("ubuntu", "up-to-date")], 3000.0)
    assert got[(SUCCESS, "ubuntu", None)] == 3000.0 and got[(UP, "ubuntu", None)] == 1


def test_a_locked_instance_keeps_its_previous_state(path):
    run(path, [Result("ubuntu", "failed", error="x")], 1000.0, instances=["ubuntu"])
    got = run(path, [Result("ubuntu", "locked")], 2000.0, instances=["ubuntu"])
    assert got[(UP, "ubuntu", None)] == 0 and (SUCCESS, "ubuntu", None) not in got
    assert got[("imgsync_actions", "ubuntu", "locked")] == 1


def test_a_locked_instance_without_history_is_up(path):
    got = run(path, [Result("ubuntu", "locked")], 2000.0, instances=["ubuntu"])
    assert got[(UP, "ubuntu", None)] == 1 and (SUCCESS, "ubuntu", None) not in got


def test_instances_left_out_of_a_run_keep_their_state(path):
    run(path, [Result("ubuntu", "up-to-date")], 1000.0, instances=["ubuntu"])
    got = run(path, [Result("debian", "up-to-date")], 2000.0, instances=["debian"])
    assert got[(SUCCESS, "ubuntu", None)] == 1000.0 and got[(UP, "ubuntu", None)] == 1
    assert ("imgsync_actions", "ubuntu", "up-to-date") not in got


def test_transferred_bytes_accumulate_over_runs(path):
    run(path, [Result("debian", "uploaded", bytes=1000)], 1000.0)
    run(path, [Result("debian", "up-to-date")], 2000.0)
    got = run(path, [Result("debian", "uploaded", bytes=24), Result("ubuntu", "uploaded",
                                                                   bytes=100)], 3000.0)
    assert got[(BYTES, None, None)] == 1124


def test_previous_metrics_can_be_given(path):
    previous = 'imgsync_transferred_bytes_total 5\nimgsync_up{distro="ubuntu"} 0\n'
    got = run(path, [Result("debian", "uploaded", bytes=1)], 10.0, instances=["debian"],
              previous=previous)
    assert got[(BYTES, None, None)] == 6 and got[(UP, "ubuntu", None)] == 0


@pytest.mark.parametrize("previous", [b"imgsync_up{distro= garbage\n", b"\xff\xfe\x00",
                                      b"imgsync_transferred_bytes_total NaN\n"])
def test_a_corrupt_previous_file_is_ignored(path, caplog, previous):
    path.write_bytes(previous)
    with caplog.at_level(logging.WARNING, logger="imgsync.ops.metrics"):
        got = run(path, [Result("debian", "uploaded", bytes=7)], 10.0, instances=["debian"])
    assert got[(BYTES, None, None)] == 7
    assert got[(UP, "debian", None)] == 1
    assert [record.levelno for record in caplog.records] == [logging.WARNING]


def test_a_failed_replace_leaves_the_old_file(path, monkeypatch):
    run(path, [Result("debian", "uploaded", bytes=1000)], 1000.0)
    old = path.read_bytes()

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(atomic.os, "replace", refuse)
    with pytest.raises(exceptions.ImgsyncError) as info:
        run(path, [Result("debian", "uploaded", bytes=5)], 2000.0)
    assert path.read_bytes() == old
    assert os.listdir(path.parent) == [path.name]
    assert str(info.value) == (f"cannot write the metrics file {path} ([DEFAULT] metrics_file):"
                               " Permission denied")


def test_a_missing_directory_is_one_line(tmp_path):
    path = tmp_path / "missing" / "imgsync.prom"
    with pytest.raises(exceptions.ImgsyncError) as info:
        run(path, [], 10.0)
    assert str(info.value) == (f"cannot write the metrics file {path} ([DEFAULT] metrics_file):"
                               " No such file or directory")


def test_a_directory_not_writable_is_one_line(path, monkeypatch):
    def refuse(**kwargs):  # as root, a mode-0555 directory would still be writable
        raise PermissionError(13, "Permission denied", kwargs["dir"])

    monkeypatch.setattr(atomic.tempfile, "mkstemp", refuse)
    with pytest.raises(exceptions.ImgsyncError) as info:
        run(path, [], 10.0)
    message = str(info.value)
    assert "\n" not in message and str(path) in message and "[DEFAULT] metrics_file" in message
    assert message.endswith("Permission denied")
    assert not path.exists()


def test_images_by_state_are_written_when_given(tmp_path):
    path = tmp_path / "imgsync.prom"
    metrics.write(path, [], 1.0, 2.0, ["ubuntu-24.04"],
                  images={"ubuntu-24.04": {"active": 2, "hidden": 1}})
    found = {(s.name, tuple(sorted(s.labels.items()))): s.value
             for family in parser.text_string_to_metric_families(path.read_text())
             for s in family.samples if s.name == "imgsync_images"}
    assert found == {("imgsync_images", (("distro", "ubuntu-24.04"), ("state", "active"))): 2,
                     ("imgsync_images", (("distro", "ubuntu-24.04"), ("state", "hidden"))): 1}
