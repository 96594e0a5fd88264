"""The executor: applies a plan's actions in order and reports each one.

A failed action is reported and the run goes on; an action that depends on one that
failed (or was itself skipped) is skipped, with the reason. With ``dry_run`` nothing
is applied and each action is reported as what would be done.
"""

import dataclasses
import logging

from imgsync import exceptions
from imgsync import plan as plan_mod

LOG = logging.getLogger(__name__)

FAILED, SKIPPED, LOCKED = "failed", "skipped", "locked"
DONE = {plan_mod.UPLOAD: "uploaded", "hide": "hidden", "deactivate": "deactivated",
        "delete": "deleted", plan_mod.CLEAN: "cleaned", plan_mod.RENAME: "renamed"}


@dataclasses.dataclass
class Result:
    """What happened to one action (or to a whole instance, when it failed early)."""

    distro: str
    action: str
    version: str = "-"
    architecture: str = ""
    name: str = ""
    image_id: str = ""
    reason: str = ""
    error: str = ""
    bytes: int = 0
    seconds: float = 0.0
    method: str = ""


class Executor:
    """Applies one instance's actions to Glance."""

    def __init__(self, glance, uploader, dry_run=False):
        self.glance = glance
        self.uploader = uploader
        self.dry_run = dry_run

    def run(self, distro, actions, upstream):
        """Apply ``actions`` (fetching uploads through ``upstream``); one Result each."""
        uploaded, results = {}, []
        for action in actions:
            result = Result(distro, action.kind, action.version, action.architecture,
                            action.name, action.image_id, action.reason)
            results.append(result)
            missing = [key for key in action.depends_on if key not in uploaded]
            if action.kind in plan_mod.INFORMATIVE:
                continue
            if action.error:
                result.action, result.error = FAILED, action.error
                LOG.error("%s: %s", distro, action.error)
            elif self.dry_run:
                result.action = f"would-{action.kind}"
            elif missing:
                result.action = SKIPPED
                result.reason = f"needs the {missing[0]}, which did not succeed"
                LOG.warning("%s: skipped %s of %s: %s", distro, action.kind,
                            action.name, result.reason)
            else:
                self._apply(distro, action, result, uploaded, upstream)
        return results

    def _apply(self, distro, action, result, uploaded, upstream):
        image_id = action.image_id or uploaded.get(action.uploaded_by)
        try:
            if action.kind == plan_mod.UPLOAD:
                done = self.uploader.upload(action.release, action.name, upstream)
                uploaded[action.key] = result.image_id = done.image_id
                result.bytes, result.seconds, result.method = (done.bytes, done.seconds,
                                                               done.method)
            else:
                LOG.info("%s: %s image %s (%s): %s", distro, action.kind, image_id,
                         action.name, action.reason)
                if action.kind == plan_mod.RENAME:
                    self.glance.rename(image_id, action.name)
                elif action.kind == plan_mod.CLEAN:
                    self.glance.delete(image_id)
                else:
                    getattr(self.glance, action.kind)(image_id)
                result.image_id = image_id
        except exceptions.ImgsyncError as exc:
            result.action, result.error = FAILED, str(exc)
            LOG.error("%s: %s", distro, exc)
            return
        except Exception as exc:  # a bug must not cost the other actions and instances
            LOG.exception("%s: unexpected error in %s of %s", distro, action.kind,
                          action.name)
            result.action, result.error = FAILED, f"unexpected error: {exc!r}"
            return
        result.action = DONE[action.kind]
