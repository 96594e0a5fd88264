"""The commands that need Glance, ``sync`` and ``status``: imported only when they run,
so that the others never load openstacksdk."""

import datetime
import time

from oslo_log import log

from imgsync import exceptions
from imgsync import instances
from imgsync import ordering
from imgsync.engine import executor
from imgsync.engine import plan
from imgsync.engine import record
from imgsync.engine import sync
from imgsync.glance import client as glance_mod
from imgsync.glance import nova
from imgsync.ops import catalog
from imgsync.ops import locking
from imgsync.ops import metrics
from imgsync.ops import report

LOG = log.getLogger(__name__)
EXIT_OK, EXIT_FAILED = 0, 1


def sync_command(conf, available):
    started = time.time()
    selected = instances.selected(conf, available)
    targets = _targets(conf)
    up = [t for t in targets if not t.error]
    LOG.info("syncing %s into Glance at %s", ", ".join(d.name for d in selected),
             ", ".join(f"{t.glance.endpoint()}{f' ({t.name})' if t.name else ''}"
                       for t in up) or "none (none could be reached)")
    with _locks(conf) as locks:
        syncer = sync.Syncer(targets, _settings(conf), locks, dry_run=conf.command.dry_run)
        results = sync.run(selected, syncer, workers=conf.workers,
                           release_check_timeout=conf.release_check_timeout)
    report.show(results, time.time() - started, conf.command.format,
                {d.name: instances.driver_name(conf, available, d.name) for d in selected})
    # the catalog and the metrics' image counts come from one Glance: the first that is up
    first = up[0].glance if up else None
    if conf.metrics_file and not conf.command.dry_run:
        metrics.write(conf.metrics_file, results, started, time.time(),
                      [d.name for d in selected], images=_image_states(first))
    if conf.catalog_dir and not conf.command.dry_run:
        if first:
            _write_glance_catalog(conf, available, first, [d.name for d in selected])
        else:
            LOG.warning("[DEFAULT] catalog_dir %s left as it was: no Glance could be reached",
                        conf.catalog_dir)
    for target in up:
        _warn_foreign(target.glance.foreign)
    if len(up) < len(targets):
        return EXIT_FAILED   # even when no instance got as far as that target
    return EXIT_FAILED if any(r.action == executor.FAILED for r in results) else EXIT_OK


def _settings(conf):
    return sync.Settings(
        prefix=conf.prefix, visibility=conf.visibility,
        max_image_size=conf.max_image_size * 1024 ** 3, upload_method=conf.upload_method,
        web_download_unverified=conf.web_download_unverified,
        pending_grace_period=conf.pending_grace_period, same_image_id=conf.same_image_id,
        behind_timeout=conf.glance.behind_timeout, managed_by_tag=conf.managed_by_tag)


def _targets(conf):
    """The Glances to sync into: each of [glance] clouds and region_names, or the one.

    Each is connected on its own: of several, one that cannot be reached now is kept,
    with its error, to fail alone; a run with one Glance stops on it."""
    clouds = conf.glance.clouds or [None]
    regions = conf.glance.region_names or [None]
    several = bool(conf.glance.clouds or conf.glance.region_names)
    targets = []
    for cloud in clouds:
        # the regions of [keystone_auth]'s Keystone share a session: one token
        session = None if cloud or conf.glance.cloud else glance_mod.keystone_session(conf)
        for region in regions:
            name = "/".join(part for part in (cloud, region) if part)
            try:
                targets.append(_target(conf, name, cloud, region, session))
                continue
            except exceptions.GlanceError as exc:
                if not several:
                    raise
                error = str(exc)
            LOG.error("%s: %s", name, error)   # outside the handler: no second summary
            targets.append(sync.Target(name, None, error=error))
    return targets


def _target(conf, name, cloud, region, session):
    """The target ``name``, connected (Keystone and Glance checked) now."""
    connection = glance_mod.connect(conf, compute=conf.skip_images_in_use,
                                    cloud=cloud, region=region, session=session)
    glance = glance_mod.Glance(glance_mod.image_proxy(connection),
                               active_timeout=conf.active_timeout)
    in_use = nova.ServersInUse(connection) if conf.skip_images_in_use else None
    return sync.Target(name, glance, in_use)


def _image_states(glance):
    """imgsync's images in ``glance``, counted by instance and state; None when Glance
    cannot list them now or none could be reached (the metrics then go without)."""
    if glance is None:
        LOG.warning("metrics without imgsync_images: no Glance could be reached")
        return None
    try:
        images = glance.synced_images()
    except exceptions.ImgsyncError as exc:
        LOG.warning("metrics without imgsync_images: %s", exc)
        return None
    states = {}
    for image in images:
        state = record.state(image)
        counts = states.setdefault(image.get(record.DISTRO) or "", {})
        counts[state] = counts.get(state, 0) + 1
    return states


def _warn_foreign(foreign):
    """One warning for the images of other projects that look like imgsync's."""
    if foreign:
        LOG.warning("ignored %d images of other projects that carry imgsync's properties "
                    "(source=imgsync): %s", len(foreign),
                    ", ".join(f"{image_id} (owner {owner})"
                              for image_id, owner in sorted(foreign.items())))


def _locks(conf):
    """Per-driver locks: tooz's with [coordination] backend_url, else per-host files."""
    if conf.coordination.backend_url:
        from imgsync.ops import tooz_locks  # noqa: PLC0415 - tooz only where configured
        return tooz_locks.ToozLocks(conf.coordination.backend_url, conf.lock_timeout,
                                    conf.lock_stale_after)
    try:
        return locking.FileLocks(conf.lock_path, conf.lock_timeout, conf.lock_stale_after)
    except OSError as exc:
        raise exceptions.ConfigError(
            f"[DEFAULT] lock_path {conf.lock_path}: {exc.strerror or exc}") from exc


def _write_glance_catalog(conf, available, glance, names):
    """Bring [DEFAULT] catalog_dir in step with the imgsync images now in Glance."""
    def make_driver(name):
        if instances.driver_class(conf, available, name) is None:
            return None
        return instances.build(conf, available, name)

    try:
        paths = catalog.write_glance(conf.catalog_dir, glance, make_driver, names,
                                     conf.prefix, conf.visibility)
    except OSError as exc:
        raise exceptions.ImgsyncError(f"[DEFAULT] catalog_dir: {exc}") from exc
    LOG.info("wrote %s", ", ".join(paths) or f"no catalog files to {conf.catalog_dir}")


def status_command(conf, available):
    """Compare without changing anything: exit 1 when an instance or a Glance fails."""
    selected = instances.selected(conf, available)
    targets = _targets(conf)
    settings, now = _settings(conf), datetime.datetime.now(datetime.timezone.utc)
    rows = []
    for driver in selected:
        releases, error = exceptions.attempt(driver.releases)
        if error:
            LOG.error("%s: %s", driver.name, error)
            rows.append(_status_row(driver.name, "", None, None, "failing", str(error)))
            continue
        for target in targets:
            if target.error:
                rows.append(_status_row(driver.name, target.name, releases, None, "failing",
                                        target.error))
                continue
            planned, error = exceptions.attempt(_status_plan, target, driver, releases,
                                                sync.policy(settings, driver.conf), now)
            if error:
                LOG.error("%s: %s", driver.name, error)
                rows.append(_status_row(driver.name, target.name, releases, None, "failing",
                                        str(error)))
                continue
            images, actions = planned
            held = [i[record.VERSION] for i in images
                    if record.is_finished(i) and record.VERSION in i]
            newest = max(held, key=ordering.natural_key, default=None)
            behind = any(a.kind == record.Kind.UPLOAD for a in actions)
            rows.append(_status_row(driver.name, target.name, releases, newest,
                                    "behind" if behind else "in-sync", ""))
    report.status(rows, conf.command.format)
    return EXIT_FAILED if any(r["state"] == "failing" for r in rows) else EXIT_OK


def _status_plan(target, driver, releases, policy, now):
    """The instance's images in ``target`` and the actions a sync would take there."""
    images = target.glance.synced_images(driver.name)
    return images, plan.plan(releases, images, target.glance.project_id(), policy,
                             now).actions


def _status_row(instance, target, releases, glance, state, error):
    newest = max((r.version for r in releases or []), key=ordering.natural_key, default=None)
    return {"instance": instance, "target": target, "upstream": newest, "glance": glance,
            "state": state, "error": error}
