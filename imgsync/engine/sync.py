"""One sync run: for each instance, under its lock, plan from upstream and Glance, then
apply the plan (or, with ``--dry-run``, report it)."""

import concurrent.futures
import dataclasses
import datetime
import itertools
import logging
import math
import queue
import threading
import time
import uuid

from imgsync import exceptions
from imgsync.engine import executor as executor_mod
from imgsync.engine import fanout
from imgsync.engine import mirror_plan
from imgsync.engine import plan as plan_mod
from imgsync.glance import upload as upload_mod
from imgsync.model import record

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
    same_image_id: bool = False
    behind_timeout: int = 30
    managed_by_tag: str = "managed_by_imgsync"


def policy(settings, conf):
    """The planner's policy for an instance with options ``conf``."""
    return plan_mod.Policy(prefix=settings.prefix,
                           keep=max(conf.keep_versions, conf.versions),
                           expire_action=conf.expire_action, latest_name=conf.latest_name,
                           pending_grace_period=settings.pending_grace_period,
                           allow_unsigned=conf.allow_signature_downgrade)


@dataclasses.dataclass(frozen=True)
class Target:
    """One Glance to sync into: ``name`` is its cloud or region (empty when it is the only
    one), ``in_use`` optionally says whether servers there use an image. ``error``, when
    set, says why it could not be reached at the start (it then has no ``glance``): each
    instance fails there with it, and the other targets are synced."""

    name: str
    glance: object
    in_use: object = None
    error: str = ""


class Syncer:
    """Brings each instance's releases into every target Glance, and into the object-store
    ``mirror`` (imgsync.mirror.target.Mirror) when there is one, and rotates old images and
    objects out. Each target is planned on its own; each release is downloaded once for
    all the targets that lack it."""

    def __init__(self, targets, settings, locks, dry_run=False, mirror=None):
        self.targets = targets
        self.settings = settings
        self.locks = locks
        self.dry_run = dry_run
        self.mirror = mirror
        up = [t for t in targets if not t.error]
        self.uploaders = {t.name: upload_mod.Uploader(t.glance, settings) for t in up}
        self.executors = {t.name: executor_mod.Executor(t.glance, t.name, dry_run=dry_run)
                          for t in up}
        if mirror is not None:
            self.uploaders[mirror.name] = mirror.uploader
            self.executors[mirror.name] = executor_mod.Executor(mirror, mirror.name,
                                                                dry_run=dry_run)
        self._listings = {}
        self._ids = {}
        self._listed = threading.Lock()
        self._ticks = itertools.count()
        self._listed_at = {}
        """By target, when its listing was taken (a tick of ``_ticks``)."""
        self._locked_at = {}
        """By instance, when this run took its lock (a tick)."""

    def _listing(self, target):
        """All of imgsync's images in ``target`` by instance, listed once per run."""
        with self._listed:
            if target.name not in self._listings:
                self._listed_at[target.name] = next(self._ticks)
                by_distro = {}
                for image in target.glance.synced_images():
                    by_distro.setdefault(image.get(record.DISTRO), []).append(image)
                self._listings[target.name] = by_distro
            return self._listings[target.name]

    def images(self, target, driver):
        """imgsync's images of one instance in ``target``, from the run's listing."""
        return self._listing(target).get(driver.name, [])

    def plan(self, target, driver, releases):
        """The plan of one instance in one target, from upstream's releases and its images.

        A run lists each Glance once for all its instances; a plan that would change
        anything is made again from a listing taken under the instance's lock, since
        another run may have synced the instance meanwhile (unless the run's listing was
        taken under it: then it is that listing).
        """
        planned = self._plan(target, driver, releases,
                             self._listing(target).get(driver.name, []))
        if any(a.kind not in record.INFORMATIVE for a in planned.actions) \
                and not self._listed_under_lock(target, driver):
            planned = self._plan(target, driver, releases,
                                 target.glance.synced_images(driver.name))
        for warning in planned.warnings:
            LOG.warning("%s: %s", driver.name, warning)
        if target.in_use:
            return _mark_in_use(planned.actions, target.in_use)
        return planned.actions

    def plan_mirror(self, driver, releases):
        """The plan of one instance in the mirror, from a listing of its objects now."""
        conf = driver.conf
        return mirror_plan.plan(releases, self.mirror.images(driver.name),
                                max(self.mirror.keep, conf.versions),
                                conf.allow_signature_downgrade)

    def _listed_under_lock(self, target, driver):
        """Whether ``target``'s listing was taken while this run held ``driver``'s lock."""
        return self._listed_at[target.name] > self._locked_at.get(driver.name, math.inf)

    def _plan(self, target, driver, releases, images):
        return plan_mod.plan(releases, images, target.glance.project_id(),
                             policy(self.settings, driver.conf),
                             datetime.datetime.now(datetime.timezone.utc))

    def sync(self, driver, releases=None):
        """Sync one instance under its lock; ``releases``, when given, are its releases
        as fetched beforehand (a callable that returns or raises them)."""
        with self.locks.hold(driver.name) as held:
            if not held:
                LOG.warning("%s: another imgsync run holds its lock; skipped", driver.name)
                return [executor_mod.Result(driver.name, executor_mod.LOCKED)]
            self._locked_at[driver.name] = next(self._ticks)
            releases = releases() if releases else driver.releases()
            plans, results, planners = {}, [], []
            for target in self.targets:
                if target.error:
                    results.append(executor_mod.Result(driver.name, executor_mod.FAILED,
                                                       target=target.name, error=target.error))
                else:
                    planners.append((target.name, self.plan, target, driver, releases))
            if self.mirror is not None:
                planners.append((self.mirror.name, self.plan_mirror, driver, releases))
            for name, planner, *args in planners:
                planned, error = exceptions.attempt(planner, *args)
                if isinstance(error, exceptions.RefusedBuild):   # evidence against the
                    LOG.error("%s: %s", driver.name, error)        # upstream: no target
                    return [executor_mod.Result(driver.name, executor_mod.FAILED,  # gets it
                                                error=str(error))]
                if error:
                    LOG.error("%s: %s", f"{driver.name} in {name}" if name else driver.name,
                              error)
                    results.append(executor_mod.Result(driver.name, executor_mod.FAILED,
                                                       target=name, error=str(error)))
                else:
                    plans[name] = planned
            uploads = {} if self.dry_run else self._upload(driver, plans)
            for name, actions in plans.items():
                results += self.executors[name].run(driver.name, actions, uploads.get(name, {}))
            return results

    def _upload(self, driver, plans):
        """Each release that some targets lack, streamed once into all of them:
        ``{target: {upload key: Uploaded or error}}``."""
        wanted = {}
        for name, actions in plans.items():
            for action in actions:
                if action.kind == record.Kind.UPLOAD:
                    wanted.setdefault(action.key, (action.release, []))[1].append(
                        fanout.Delivery(name, self.uploaders[name], action.name,
                                        None if self._is_mirror(name)
                                        else self._image_id(driver, action.release)))
        outcomes = {name: {} for name in plans}
        for key, (release, deliveries) in wanted.items():
            done = fanout.upload(release, deliveries, driver.upstream,
                                 self.settings.max_image_size, self.settings.behind_timeout)
            for name, outcome in done.items():
                outcomes[name][key] = outcome
        return outcomes

    def _is_mirror(self, name):
        return self.mirror is not None and name == self.mirror.name

    def _image_id(self, driver, release):
        """With ``same_image_id``, the id of this build in every target: that of its image
        in a target that has it, else that of imgsync's reservation of it (every target
        failed before), else a random one (which nobody can take beforehand)."""
        if not self.settings.same_image_id:
            return None
        arch = release.metadata.get("architecture")
        key = (driver.name, release.version, arch)
        with self._listed:
            if key not in self._ids:
                images = [image for target in self.targets
                          for image in self._listings.get(target.name, {}).get(driver.name, [])]
                reserved = (image["id"] for image in images if record.is_reserved(image)
                            and (image.get(record.VERSION), image.get("architecture"))
                            == (release.version, arch))
                self._ids[key] = next(
                    (image["id"] for image in images if record.is_synced(image, release)),
                    None) or next(reserved, None) or str(uuid.uuid4())
            return self._ids[key]


def _mark_in_use(actions, in_use):
    """Ask Nova about each image the plan expires; once it fails, ask no more."""
    used = set()
    for action in actions:
        if action.kind in record.EXPIRES and action.image_id:
            try:
                if in_use(action.image_id):
                    used.add(action.image_id)
            except exceptions.NovaError as exc:
                return plan_mod.mark_in_use(actions, used, doubt=str(exc))
    return plan_mod.mark_in_use(actions, used)


def run(drivers, syncer, workers=1, release_check_timeout=600):
    """Sync each instance, up to ``workers`` at once; a failure is reported and the others
    carry on. The results keep the order of ``drivers``. An instance whose upstream has
    not told its releases ``release_check_timeout`` seconds after the start fails.

    With one worker the instances run one after another in the main thread, so a SIGTERM
    interrupts the upload under way and its image is removed; with more, a SIGTERM lets the running
    instances finish (an image a SIGKILL leaves pending is cleaned by a later run).
    """
    fetched = _prefetch(drivers, release_check_timeout)
    if workers == 1:
        done = map(lambda d: _sync_one(d, syncer, fetched.get(d.name)), drivers)
        return [result for results in done for result in results]
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers,
                                               thread_name_prefix="imgsync-instance") as pool:
        futures = [pool.submit(_sync_one, driver, syncer, fetched.get(driver.name))
                   for driver in drivers]
        try:
            return [result for future in futures for result in future.result()]
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


PREFETCH = 8
"""Instances whose upstream is asked at once, before the syncs."""


def _prefetch(drivers, timeout):
    """Ask every instance's upstream for its releases at once, PREFETCH at a time: a run
    that finds nothing new then costs about one upstream round trip, not one per instance.
    Returns, by instance, a callable that returns the releases or raises what fetching
    them raised, or an UpstreamError once ``timeout`` seconds from now have passed
    without them. The fetching threads are daemons: a hung upstream holds only its own
    thread, never the run or the process's exit."""
    deadline = time.monotonic() + timeout
    pending = queue.SimpleQueue()
    fetches = {}
    for driver in drivers:
        fetches[driver.name] = _Fetch(driver, deadline, timeout)
        pending.put(fetches[driver.name])
    for number in range(min(PREFETCH, len(drivers))):
        threading.Thread(target=_fetch_all, args=(pending,), daemon=True,
                         name=f"imgsync-check-{number}").start()
    return fetches


def _fetch_all(pending):
    while True:
        try:
            fetch = pending.get_nowait()
        except queue.Empty:
            return
        fetch.run()


class _Fetch:
    """One instance's releases, fetched by a prefetch thread; calling it waits for them
    until the run's deadline."""

    def __init__(self, driver, deadline, timeout):
        self.driver, self.deadline, self.timeout = driver, deadline, timeout
        self.done = threading.Event()
        self.releases = self.error = None

    def run(self):
        try:
            self.releases = self.driver.releases()
        except BaseException as exc:   # raised by the instance's own sync, as it would be
            self.error = exc
        finally:
            self.done.set()

    def __call__(self):
        if not self.done.wait(max(0.0, self.deadline - time.monotonic())):
            raise exceptions.UpstreamError(
                f"the upstream of {self.driver.name} has not told its releases within "
                f"{self.timeout} s (release_check_timeout)")
        if self.error is not None:
            raise self.error
        return self.releases


def _sync_one(driver, syncer, releases=None):
    try:
        return syncer.sync(driver, releases)
    except exceptions.ImgsyncError as exc:
        error = str(exc)
    except Exception as exc:  # a driver bug must not stop the other drivers
        LOG.exception("%s: unexpected error", driver.name)
        error = f"unexpected error: {exc!r}"
    LOG.error("%s: %s", driver.name, error)   # logged outside the handler: one summary
    return [executor_mod.Result(driver.name, executor_mod.FAILED, error=error)]
