"""Images an interrupted run left pending: cleaned after the grace period, never a failure."""

import datetime
import logging

import pytest

from imgsync import sync


class Recorder:
    def __init__(self):
        self.deleted = []

    def delete(self, image_id):
        self.deleted.append(image_id)


def ago(seconds):
    moment = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def pending(image_id, created, started=None):
    image = {"id": image_id, "name": image_id, "created_at": created,
             "imgsync.state": "pending", "imgsync.version": "1"}
    if started is not None:
        image["imgsync.started_at"] = started
    return image


def clean(images, grace=3600):
    glance = Recorder()
    syncer = sync.Syncer(glance, sync.Settings(pending_grace_period=grace), None)
    results = syncer._clean_pending("ubuntu-24.04", images)
    assert [r.image_id for r in results] == glance.deleted
    return glance.deleted


def test_only_pending_images_past_the_grace_period_are_deleted():
    images = [pending("old", ago(10), started=ago(7200)), pending("young", ago(7200),
                                                                  started=ago(10)),
              pending("no-start", ago(7200)),
              {"id": "done", "name": "done", "created_at": ago(99999), "status": "active"}]
    assert clean(images) == ["old", "no-start"]


@pytest.mark.parametrize("bad", ["yesterday", "", "2024-13-45T99:00:00Z", 12345])
def test_a_malformed_started_at_is_a_warning_and_created_at_decides(bad, caplog):
    caplog.set_level(logging.WARNING)
    assert clean([pending("old", ago(7200), started=bad)]) == ["old"]
    assert clean([pending("young", ago(10), started=bad)]) == []
    assert "malformed imgsync.started_at" in caplog.text
