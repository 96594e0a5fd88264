"""The executor: applies a plan, reports every action, skips what depends on a failure."""

import datetime

import pytest

from imgsync import exceptions
from imgsync.engine import executor
from imgsync.engine import plan
from imgsync.glance import upload
from imgsync.model import record
from tests.unit import test_plan as plans


class Glance:
    """Records what the executor asks of Glance; fails the calls on ``failing`` ids."""

    def __init__(self, failing=()):
        self.calls, self.failing = [], set(failing)

    def _call(self, *call):
        self.calls.append(call)
        if call[1] in self.failing:
            raise exceptions.GlanceError(f"Glance refused to {call[0]} image {call[1]}: 500")

    def rename(self, image_id, name):
        self._call("rename", image_id, name)

    def hide(self, image_id):
        self._call("hide", image_id)

    def delete(self, image_id):
        self._call("delete", image_id)


def uploads(actions, failing=None):
    """Every upload of ``actions`` done as ``new-<version>-<arch>``, but those in
    ``failing`` (by version and architecture), which end in its error."""
    failing = failing or {}
    return {a.key: failing.get((a.version, a.architecture))
            or upload.Uploaded(f"new-{a.version}-{a.architecture}", 1024, "put", 0.5)
            for a in actions if a.kind == record.Kind.UPLOAD}


def execute(actions, glance, failing=None, dry_run=False):
    done = {} if dry_run else uploads(actions, failing)
    results = executor.Executor(glance, dry_run=dry_run).run("ubuntu", actions, done)
    assert len(results) == len(actions)   # every planned action is reported
    return [(r.action, r.version, r.architecture, r.image_id) for r in results], results


def two_arch_plan():
    images = [plans.img("x2", "2", name="Ubuntu 24.04"), plans.img("x1", "1"),
              plans.img("a2", "2", plans.ARM, name="Ubuntu 24.04"), plans.img("a1", "1", plans.ARM)]
    return plan.plan([plans.rel("3"), plans.rel("3", plans.ARM)], images, "me",
                     plan.Policy(keep=2, expire_action="hide", latest_name=True), plans.NOW).actions


def test_a_failed_upload_skips_what_depends_on_it_and_keeps_the_rest():
    glance = Glance()
    failure = exceptions.UpstreamError("https://mirror.test/3: HTTP 503")
    rows, results = execute(two_arch_plan(), glance, {("3", plans.ARM): failure})
    assert rows == [
        ("uploaded", "3", plans.X86, "new-3-x86_64"), ("failed", "3", plans.ARM, ""),
        ("skipped", "1", plans.ARM, "a1"), ("hidden", "1", plans.X86, "x1"),
        ("skipped", "2", plans.ARM, "a2"), ("skipped", "3", plans.ARM, ""),
        ("renamed", "2", plans.X86, "x2"), ("renamed", "3", plans.X86, "new-3-x86_64")]
    assert glance.calls == [("hide", "x1"), ("rename", "x2", "Ubuntu 24.04 (2)"),
                            ("rename", "new-3-x86_64", "Ubuntu 24.04")]
    assert results[1].error == str(failure)
    assert "upload 3 (aarch64)" in results[2].reason
    assert (results[0].bytes, results[0].method) == (1024, "put")


def test_a_dry_run_reports_the_plan_and_changes_nothing():
    glance = Glance()
    actions = two_arch_plan()
    rows, results = execute(actions, glance, dry_run=True)
    assert [row[0] for row in rows] == [f"would-{a.kind}" for a in actions]
    assert glance.calls == []
    assert [r.reason for r in results] == [a.reason for a in actions]


def test_the_real_run_does_what_the_dry_run_said():
    actions = two_arch_plan()
    dry = execute(actions, Glance(), dry_run=True)[0]
    real = execute(actions, Glance())[0]
    assert [(executor.DONE[row[0][len("would-"):]], *row[1:3]) for row in dry] == [
        row[:3] for row in real]


def test_a_failed_glance_call_is_reported_and_the_run_goes_on():
    images = [plans.img("i3", "3"), plans.img("i2", "2"), plans.img("i1", "1")]
    actions = plan.plan([plans.rel("3")], images, "me", plan.Policy(keep=1, expire_action="hide"),
                        plans.NOW).actions
    glance = Glance(failing={"i1"})
    rows, results = execute(actions, glance)
    assert rows == [("up-to-date", "3", plans.X86, "i3"), ("failed", "1", plans.X86, "i1"),
                    ("hidden", "2", plans.X86, "i2")]
    assert "Glance refused to hide image i1" in results[1].error


class Raising(Glance):
    """Raises ``error`` when asked to hide image i1."""

    def __init__(self, error):
        super().__init__()
        self.error = error

    def hide(self, image_id):
        if image_id == "i1":
            raise self.error
        super().hide(image_id)


def rotating_plan():
    images = [plans.img("i2", "2"), plans.img("i1", "1"), plans.img("i0", "0", os_hidden=True)]
    return plan.plan([plans.rel("3")], images, "me", plan.Policy(keep=1), plans.NOW).actions


def test_a_bug_fails_its_action_only():
    glance = Raising(KeyError("x"))
    rows, results = execute(rotating_plan(), glance)
    assert rows == [("uploaded", "3", plans.X86, "new-3-x86_64"), ("failed", "1", plans.X86, "i1"),
                    ("hidden", "2", plans.X86, "i2")]
    assert results[1].error == "unexpected error: KeyError('x')"


def test_an_interruption_is_not_swallowed():
    glance = Raising(KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        execute(rotating_plan(), glance)
    assert glance.calls == []


def test_a_pending_image_is_cleaned_by_deleting_it():
    images = [plans.img("p", "1", **{"imgsync.state": "pending",
                               "imgsync.started_at": "2026-11-01T00:00:00Z"})]
    actions = plan.plan([], images, "me", plan.Policy(),
                        plans.NOW + datetime.timedelta(days=1)).actions
    glance = Glance()
    assert execute(actions, glance)[0] == [("cleaned", "1", plans.X86, "p")]
    assert glance.calls == [("delete", "p")]


def test_an_action_known_to_be_impossible_fails_even_in_a_dry_run():
    images = [plans.img("i2", "2"), plans.img("i1", "1")]
    actions = plan.plan([plans.rel("2")], images, "me", plan.Policy(keep=1), plans.NOW).actions
    actions = plan.mark_in_use(actions, set(), doubt="cannot ask Nova: timed out")
    for dry_run in (True, False):
        glance = Glance()
        rows, results = execute(actions, glance, dry_run=dry_run)
        assert [row[0] for row in rows] == ["up-to-date", "failed"]
        assert results[1].error == "cannot ask Nova: timed out" and glance.calls == []
