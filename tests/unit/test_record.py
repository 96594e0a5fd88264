"""imgsync's image record: what a Glance image's properties say of it, and the action kinds."""

import datetime
import json

import pytest

from imgsync.engine import executor
from imgsync.engine import plan
from imgsync.model import record
from imgsync.model.record import Kind
from imgsync.ops import metrics
from tests.unit import test_identity

QUEUED, ACTIVE, GONE = "queued", "active", "deactivated"
PENDING, RESERVED = {record.STATE: record.PENDING}, {record.STATE: record.RESERVED}

# image: pending, reserved, finished, usable, hidden, deactivated, state (metrics)
PREDICATES = {
    "published": (
        {"status": ACTIVE}, (False, False, True, True, False, False, "active")),
    "hidden by a rotation: still bootable": (
        {"status": ACTIVE, "os_hidden": True}, (False, False, True, True, True, False, "hidden")),
    "deactivated by a rotation: finished, but no server can boot it": (
        {"status": GONE}, (False, False, True, False, False, True, "deactivated")),
    "deactivated and hidden": (
        {"status": GONE, "os_hidden": True},
        (False, False, True, False, True, True, "deactivated")),
    "an upload under way": (
        {"status": QUEUED, "os_hidden": True, **PENDING},
        (True, False, False, False, True, False, "pending")),
    "active but not yet verified and published": (
        {"status": ACTIVE, "os_hidden": True, **PENDING},
        (True, False, False, False, True, False, "pending")),
    "a reservation of an id (same_image_id)": (
        {"status": QUEUED, "os_hidden": True, **RESERVED},
        (False, True, False, False, True, False, "hidden")),
    "active but still marked reserved: publishing removes imgsync.state": (
        {"status": ACTIVE, **RESERVED}, (False, True, False, False, False, False, "active")),
    "killed": (
        {"status": "killed"}, (False, False, False, False, False, False, "killed")),
    "no status at all": ({}, (False, False, False, False, False, False, "unknown")),
}


@pytest.mark.parametrize("image,expected", PREDICATES.values(), ids=PREDICATES)
def test_what_an_image_record_says(image, expected):
    assert (record.is_pending(image), record.is_reserved(image), record.is_finished(image),
            record.is_usable(image), record.is_hidden(image), record.is_deactivated(image),
            record.state(image)) == expected


def test_a_release_record_reads_back_as_that_release():
    release = test_identity.release(algo="sha512", checksum="f" * 128)
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    properties = record.properties(release, now)
    assert record.checksums(properties) == {"sha512": "f" * 128}
    assert (properties[record.DISTRO], properties[record.VERSION]) == ("cirros", "0.6.3")
    assert record.is_synced({**properties, "status": ACTIVE}, release)
    assert not record.is_synced({**properties, "status": ACTIVE, **PENDING}, release)


def test_checksums_read_back_strongest_first():
    image = {"imgsync.md5": "m", "imgsync.sha256": "s", "imgsync.sha1": "h", "other": "x"}
    assert list(record.checksums(image).items()) == [("sha256", "s"), ("sha1", "h"),
                                                     ("md5", "m")]


WORDS = ["upload", "hide", "deactivate", "delete", "clean", "rename", "retire", "up-to-date",
         "in-use"]


@pytest.mark.parametrize("kind", list(Kind), ids=str)
def test_a_kind_prints_as_its_word(kind):
    assert (str(kind), f"{kind}", f"{kind:<13}", "%s" % kind) == (  # noqa: UP031
        kind.value, kind.value, kind.value.ljust(13), kind.value)
    assert json.loads(json.dumps({kind: kind})) == {kind.value: kind.value}
    assert Kind(kind.value) is kind and kind == kind.value


def test_the_words_of_reports_and_metrics_are_unchanged():
    assert [kind.value for kind in Kind] == WORDS
    assert metrics.ACTIONS == ("uploaded", "hidden", "deactivated", "deleted", "cleaned",
                               "renamed", "retired", "up-to-date", "in-use", "failed",
                               "skipped", "locked")
    assert all(type(action) is str for action in metrics.ACTIONS)


class Glance:
    """Records each call the executor makes."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, method):
        return lambda *args: self.calls.append((method, *args))


@pytest.mark.parametrize("kind,call", [
    (Kind.HIDE, ("hide", "i1")), (Kind.DEACTIVATE, ("deactivate", "i1")),
    (Kind.DELETE, ("delete", "i1")), (Kind.CLEAN, ("delete", "i1")),
    (Kind.RENAME, ("rename", "i1", "Ubuntu 24.04 (1)")), (Kind.RETIRE, ("retire", "i1")),
])
def test_each_kind_is_one_glance_call(kind, call):
    glance = Glance()
    action = plan.Action(kind, "1", "x86_64", "Ubuntu 24.04 (1)", "i1", reason="why")
    result, = executor.Executor(glance).run("ubuntu", [action], {})
    assert glance.calls == [call]
    assert (result.action, type(result.action)) == (executor.DONE[kind], str)


def test_a_dry_run_reports_plain_words():
    action = plan.Action(Kind.DEACTIVATE, "1", "x86_64", "Ubuntu 24.04 (1)", "i1")
    result, = executor.Executor(Glance(), dry_run=True).run("ubuntu", [action], {})
    assert (result.action, type(result.action)) == ("would-deactivate", str)
