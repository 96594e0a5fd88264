"""One sync run: for each instance, under its lock, plan from upstream and Glance, then
apply the plan (or, with ``--dry-run``, report it)."""

import dataclasses
import datetime
import logging

from imgsync import exceptions
from imgsync import executor as executor_mod
from imgsync import plan as plan_mod
from imgsync import upload as upload_mod

LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Settings:
    """The run-wide choices of [DEFAULT]."""

    prefix: str = ""
    visibility: str = "public"
    max_image_size: int = 64 << 30
    upload_method: str = "auto"
    web_download_unverified: bool = False
    pending_grace_period: int = 7200


def policy(settings, conf):
    """The planner's policy for an instance with options ``conf``."""
    return plan_mod.Policy(prefix=settings.prefix,
                           keep=max(conf.keep_versions, conf.versions),
                           expire_action=conf.expire_action, latest_name=conf.latest_name,
                           pending_grace_period=settings.pending_grace_period)


class Syncer:
    """Brings each instance's releases into one Glance and rotates its old images out."""

    def __init__(self, glance, settings, locks, dry_run=False, in_use=None):
        self.glance = glance
        self.settings = settings
        self.locks = locks
        self.in_use = in_use
        """Optional ``in_use(image_id)``: images servers still use are never expired."""
        self.executor = executor_mod.Executor(
            glance, upload_mod.Uploader(glance, settings), dry_run=dry_run)

    def plan(self, driver):
        """The plan of one instance, from upstream's releases and Glance's images."""
        releases = driver.releases()
        images = self.glance.synced_images(driver.name)
        planned = plan_mod.plan(releases, images, self.glance.project_id(),
                                policy(self.settings, driver.conf),
                                datetime.datetime.now(datetime.timezone.utc))
        for warning in planned.warnings:
            LOG.warning("%s: %s", driver.name, warning)
        actions = planned.actions
        if self.in_use:
            actions = self._mark_in_use(actions)
        return actions

    def _mark_in_use(self, actions):
        """Ask Nova about each image the plan expires; once it fails, ask no more."""
        in_use = set()
        for action in actions:
            if action.kind in plan_mod.EXPIRE_ACTIONS and action.image_id:
                try:
                    if self.in_use(action.image_id):
                        in_use.add(action.image_id)
                except exceptions.NovaError as exc:
                    return plan_mod.mark_in_use(actions, in_use, doubt=str(exc))
        return plan_mod.mark_in_use(actions, in_use)

    def sync(self, driver):
        with self.locks.hold(driver.name) as held:
            if not held:
                LOG.warning("%s: another imgsync run holds its lock; skipped", driver.name)
                return [executor_mod.Result(driver.name, executor_mod.LOCKED)]
            return self.executor.run(driver.name, self.plan(driver), driver.upstream)


def run(drivers, syncer):
    """Sync each instance in turn; a failure is reported and the others carry on."""
    results = []
    for driver in drivers:
        try:
            results.extend(syncer.sync(driver))
            continue
        except exceptions.ImgsyncError as exc:
            error = str(exc)
        except Exception as exc:  # a driver bug must not stop the other drivers
            LOG.exception("%s: unexpected error", driver.name)
            error = f"unexpected error: {exc!r}"
        LOG.error("%s: %s", driver.name, error)   # logged outside the handler: one summary
        results.append(executor_mod.Result(driver.name, executor_mod.FAILED, error=error))
    return results
