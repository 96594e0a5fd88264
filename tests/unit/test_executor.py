"""The executor: applies a plan, reports every action, skips what depends on a failure."""

import datetime

import pytest

from imgsync import exceptions
from imgsync import executor
from imgsync import plan
from imgsync import upload
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


class Uploader:
    """Uploads succeed as ``new-<version>-<arch>``; those in ``failing`` raise."""

    def __init__(self, failing=None):
        self.failing = failing or {}
        self.uploaded = []

    def upload(self, release, name, upstream):
        arch = release.metadata["architecture"]
        if (release.version, arch) in self.failing:
            raise self.failing[release.version, arch]
        self.uploaded.append((release.version, arch))
        return upload.Uploaded(f"new-{release.version}-{arch}", 1024, "put", 0.5)


def execute(actions, glance, uploader, dry_run=False):
    results = executor.Executor(glance, uploader, dry_run=dry_run).run("ubuntu", actions, None)
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
    rows, results = execute(two_arch_plan(), glance, Uploader({("3", plans.ARM): failure}))
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
    glance, uploader = Glance(), Uploader()
    actions = two_arch_plan()
    rows, results = execute(actions, glance, uploader, dry_run=True)
    assert [row[0] for row in rows] == [f"would-{a.kind}" for a in actions]
    assert glance.calls == [] and uploader.uploaded == []
    assert [r.reason for r in results] == [a.reason for a in actions]


def test_the_real_run_does_what_the_dry_run_said():
    actions = two_arch_plan()
    dry = execute(actions, Glance(), Uploader(), dry_run=True)[0]
    real = execute(actions, Glance(), Uploader())[0]
    assert [(executor.DONE[row[0][len("would-"):]], *row[1:3]) for row in dry] == [
        row[:3] for row in real]


def test_a_failed_glance_call_is_reported_and_the_run_goes_on():
    images = [plans.img("i3", "3"), plans.img("i2", "2"), plans.img("i1", "1")]
    actions = plan.plan([plans.rel("3")], images, "me", plan.Policy(keep=1, expire_action="hide"),
                        plans.NOW).actions
    glance = Glance(failing={"i1"})
    rows, results = execute(actions, glance, Uploader())
    assert rows == [("up-to-date", "3", plans.X86, "i3"), ("failed", "1", plans.X86, "i1"),
                    ("hidden", "2", plans.X86, "i2")]
    assert "Glance refused to hide image i1" in results[1].error


def test_a_bug_fails_its_action_only():
    releases = [plans.rel("3"), plans.rel("3", plans.ARM)]
    actions = plan.plan(releases, [], "me", plan.Policy(), plans.NOW).actions
    rows, results = execute(actions, Glance(), Uploader({("3", plans.X86): KeyError("x")}))
    assert [row[0] for row in rows] == ["failed", "uploaded"]
    assert results[0].error == "unexpected error: KeyError('x')"


def test_an_interruption_is_not_swallowed():
    actions = plan.plan([plans.rel("3")], [], "me", plan.Policy(), plans.NOW).actions
    with pytest.raises(KeyboardInterrupt):
        execute(actions, Glance(), Uploader({("3", plans.X86): KeyboardInterrupt()}))


def test_a_pending_image_is_cleaned_by_deleting_it():
    images = [plans.img("p", "1", **{"imgsync.state": "pending",
                               "imgsync.started_at": "2026-11-01T00:00:00Z"})]
    actions = plan.plan([], images, "me", plan.Policy(),
                        plans.NOW + datetime.timedelta(days=1)).actions
    glance = Glance()
    assert execute(actions, glance, Uploader())[0] == [("cleaned", "1", plans.X86, "p")]
    assert glance.calls == [("delete", "p")]


def test_an_action_known_to_be_impossible_fails_even_in_a_dry_run():
    images = [plans.img("i2", "2"), plans.img("i1", "1")]
    actions = plan.plan([plans.rel("2")], images, "me", plan.Policy(keep=1), plans.NOW).actions
    actions = plan.mark_in_use(actions, set(), doubt="cannot ask Nova: timed out")
    for dry_run in (True, False):
        glance = Glance()
        rows, results = execute(actions, glance, Uploader(), dry_run=dry_run)
        assert [row[0] for row in rows] == ["up-to-date", "failed"]
        assert results[1].error == "cannot ask Nova: timed out" and glance.calls == []
