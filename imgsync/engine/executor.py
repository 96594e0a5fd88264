"""The executor: applies a plan's actions in order and reports each one.

A failed action is reported and the run goes on; an action that depends on one that
failed (or was itself skipped) is skipped, with the reason. With ``dry_run`` nothing
is applied and each action is reported as what would be done.
"""

import dataclasses
import logging

from imgsync import exceptions
from imgsync.model import record
from imgsync.model.record import Kind

LOG = logging.getLogger(__name__)

FAILED, SKIPPED, LOCKED = "failed", "skipped", "locked"
DONE = {Kind.UPLOAD: "uploaded", Kind.HIDE: "hidden", Kind.DEACTIVATE: "deactivated",
        Kind.DELETE: "deleted", Kind.CLEAN: "cleaned", Kind.RENAME: "renamed",
        Kind.RETIRE: "retired"}
CALLS = {
    Kind.HIDE: lambda glance, image_id, action: glance.hide(image_id),
    Kind.DEACTIVATE: lambda glance, image_id, action: glance.deactivate(image_id),
    Kind.DELETE: lambda glance, image_id, action: glance.delete(image_id),
    Kind.CLEAN: lambda glance, image_id, action: glance.delete(image_id),
    Kind.RENAME: lambda glance, image_id, action: glance.rename(image_id, action.name),
    Kind.RETIRE: lambda glance, image_id, action: glance.retire(image_id),
}
"""The Glance call that applies each kind of action to an image already in Glance."""


@dataclasses.dataclass
class Result:
    """What happened to one action (or to a whole instance, when it failed early)."""

    distro: str
    action: str
    version: str = "-"
    architecture: str = ""
    name: str = ""
    image_id: str = ""
    target: str = ""
    """The Glance (cloud or region) of a run with several; empty with one."""
    reason: str = ""
    error: str = ""
    bytes: int = 0
    seconds: float = 0.0
    method: str = ""


class Executor:
    """Applies one instance's actions to one Glance (a target)."""

    def __init__(self, glance, target="", dry_run=False):
        self.glance = glance
        self.target = target
        self.dry_run = dry_run

    def run(self, distro, actions, uploads):
        """Apply ``actions``; one Result each. ``uploads`` has the outcome of each upload
        (by its key: an upload.Uploaded or the error), done before for every target."""
        uploaded, results = {}, []
        where = f"{distro} in {self.target}" if self.target else distro   # for the log
        for action in actions:
            result = Result(distro, action.kind.value, action.version, action.architecture,
                            action.name, action.image_id, target=self.target,
                            reason=action.reason)
            results.append(result)
            missing = [key for key in action.depends_on if key not in uploaded]
            if action.kind in record.INFORMATIVE:
                continue
            if action.error:
                result.action, result.error = FAILED, action.error
                LOG.error("%s: %s", where, action.error)
            elif self.dry_run:
                result.action = f"would-{action.kind}"
            elif missing:
                result.action = SKIPPED
                result.reason = f"needs the {missing[0]}, which did not succeed"
                LOG.warning("%s: skipped %s of %s: %s", where, action.kind,
                            action.name, result.reason)
            else:
                self._apply(where, action, result, uploaded, uploads)
        return results

    def _apply(self, where, action, result, uploaded, uploads):
        image_id = action.image_id or uploaded.get(action.uploaded_by)
        try:
            if action.kind == Kind.UPLOAD:
                done = uploads[action.key]
                if isinstance(done, BaseException):
                    raise done
                uploaded[action.key] = result.image_id = done.image_id
                result.bytes, result.seconds, result.method = (done.bytes, done.seconds,
                                                               done.method)
            else:
                LOG.info("%s: %s image %s (%s): %s", where, action.kind, image_id,
                         action.name, action.reason)
                CALLS[action.kind](self.glance, image_id, action)
                result.image_id = image_id
        except exceptions.ImgsyncError as exc:
            result.action, result.error = FAILED, str(exc)
        except Exception as exc:  # a bug must not cost the other actions and instances
            LOG.exception("%s: unexpected error in %s of %s", where, action.kind,
                          action.name)
            result.action, result.error = FAILED, f"unexpected error: {exc!r}"
        else:
            result.action = DONE[action.kind]
            return
        LOG.error("%s: %s", where, result.error)   # outside the handler: the error once
