"""Images an interrupted run left pending: cleaned after the grace period, never a failure."""

import datetime

import pytest

from imgsync.engine import plan
from imgsync.model import record

NOW = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.timezone.utc)


def ago(seconds):
    return (NOW - datetime.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def pending(image_id, created, started=None):
    image = {"id": image_id, "name": image_id, "created_at": created, "owner": "p",
             "imgsync.state": "pending", "imgsync.version": "1"}
    if started is not None:
        image["imgsync.started_at"] = started
    return image


def clean(images, grace=3600, warnings=None):
    planned = plan.plan([], images, "p", plan.Policy(pending_grace_period=grace), NOW)
    assert {a.kind for a in planned.actions} <= {record.Kind.CLEAN}
    if warnings is not None:
        warnings.extend(planned.warnings)
    return [a.image_id for a in planned.actions]


def test_only_pending_images_past_the_grace_period_are_deleted():
    images = [pending("old", ago(10), started=ago(7200)), pending("young", ago(7200),
                                                                  started=ago(10)),
              pending("no-start", ago(7200)),
              {"id": "done", "name": "done", "created_at": ago(99999), "status": "active",
               "owner": "p"}]
    assert clean(images) == ["old", "no-start"]
    assert clean(images, grace=7201) == []
    assert clean(images, grace=7200) == ["old", "no-start"]


@pytest.mark.parametrize("bad", ["yesterday", "", "2024-13-45T99:00:00Z", 12345])
def test_a_malformed_started_at_is_a_warning_and_created_at_decides(bad):
    warnings = []
    assert clean([pending("old", ago(7200), started=bad)], warnings=warnings) == ["old"]
    assert clean([pending("young", ago(10), started=bad)], warnings=warnings) == []
    assert len(warnings) == 2 and all("malformed imgsync.started_at" in w for w in warnings)
