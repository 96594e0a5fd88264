"""The commands that need Glance, ``sync`` and ``status``: imported only when they run,
so that the others never load openstacksdk."""

import functools
import logging
import time

from imgsync import exceptions
from imgsync import instances
from imgsync import ordering
from imgsync import targets as targets_mod
from imgsync.engine import executor
from imgsync.engine import sync
from imgsync.mirror import target as mirror_target
from imgsync.model import record
from imgsync.ops import catalog
from imgsync.ops import metrics
from imgsync.ops import report

LOG = logging.getLogger(__name__)
EXIT_OK, EXIT_FAILED = 0, 1


def sync_command(conf, available):
    started = time.time()
    selected = instances.selected(conf, available)
    targets = targets_mod.targets(conf)
    up = [t for t in targets if not t.error]
    mirror, mirror_error = targets_mod.mirror(conf, several=bool(targets))
    LOG.info("syncing %s into %s", ", ".join(d.name for d in selected), "; ".join(
        [*([f"Glance at {', '.join(_where(t) for t in up) or 'none (none could be reached)'}"]
           if targets else []),
         *([f"the mirror at {mirror.url('')}"] if mirror else [])]))
    with targets_mod.locks(conf) as locks:
        syncer = sync.Syncer(
            targets + ([sync.Target(mirror_target.NAME, None, error=mirror_error)]
                       if mirror_error else []),
            targets_mod.settings(conf), locks, dry_run=conf.command.dry_run, mirror=mirror)
        results = sync.run(selected, syncer, workers=conf.workers,
                           release_check_timeout=conf.release_check_timeout)
    report.show(results, time.time() - started, conf.command.format,
                {d.name: instances.driver_name(conf, available, d.name) for d in selected})
    # the catalog and the metrics' image counts come from one Glance: the first that is up
    first = up[0].glance if up else None
    if conf.metrics_file and not conf.command.dry_run:
        metrics.write(conf.metrics_file, results, started, time.time(),
                      [d.name for d in selected],
                      images=_image_states(first) if targets else None)
    if conf.catalog_dir and not conf.command.dry_run:
        if first or (mirror and not targets):
            _write_catalog(conf, available, first, mirror, [d.name for d in selected])
        else:
            LOG.warning("[DEFAULT] catalog_dir %s left as it was: no Glance could be reached",
                        conf.catalog_dir)
    for target in up:
        _warn_foreign(target.glance.foreign)
    if len(up) < len(targets) or mirror_error:
        return EXIT_FAILED   # even when no instance got as far as that target
    return EXIT_FAILED if any(r.action == executor.FAILED for r in results) else EXIT_OK


def _where(target):
    return f"{target.glance.endpoint()}{f' ({target.name})' if target.name else ''}"


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


def _write_catalog(conf, available, glance, mirror, names):
    """Bring [DEFAULT] catalog_dir in step with the imgsync images now in ``glance``, each
    with the URL of its object in the ``mirror`` when there is one; without a Glance
    (mirror-only), with the objects in the mirror."""
    def make_driver(name):
        if instances.driver_class(conf, available, name) is None:
            return None
        return instances.build(conf, available, name)

    try:
        images = glance.synced_images() if glance else []
        if mirror:
            objects = [image for name in sorted({*names, *(i.get(record.DISTRO)
                                                          for i in images)} - {None})
                       for image in mirror.images(name)]
            images = catalog.with_mirror(images, objects) if glance else objects
        paths = catalog.write_images(conf.catalog_dir, images, make_driver, names,
                                     conf.prefix, conf.visibility)
    except OSError as exc:
        raise exceptions.ImgsyncError(f"[DEFAULT] catalog_dir: {exc}") from exc
    LOG.info("wrote %s", ", ".join(paths) or f"no catalog files to {conf.catalog_dir}")


def status_command(conf, available):
    """Compare without changing anything: exit 1 when an instance, a Glance or the mirror
    fails."""
    selected = instances.selected(conf, available)
    targets = targets_mod.targets(conf)
    mirror, mirror_error = targets_mod.mirror(conf, several=bool(targets))
    if mirror_error:
        targets = [*targets, sync.Target(mirror_target.NAME, None, error=mirror_error)]
    # the planning path of 'sync --dry-run': listings, the planners and the in-use check
    syncer = sync.Syncer([t for t in targets if not t.error], targets_mod.settings(conf),
                         locks=None, dry_run=True, mirror=mirror)
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
            rows.append(_status(driver, target.name, releases, syncer.plan,
                                functools.partial(syncer.images, target), target))
        if mirror:
            rows.append(_status(driver, mirror.name, releases, syncer.plan_mirror,
                                lambda d: mirror.images(d.name)))
    report.status(rows, conf.command.format)
    return EXIT_FAILED if any(r["state"] == "failing" for r in rows) else EXIT_OK


def _status(driver, name, releases, plan, images, *target):
    """One row: whether the target ``name`` (planned by ``plan``, holding ``images(driver)``)
    has upstream's builds."""
    actions, error = exceptions.attempt(plan, *target, driver, releases)
    if error:
        LOG.error("%s: %s", driver.name, error)
        return _status_row(driver.name, name, releases, None, "failing", str(error))
    held = [i[record.VERSION] for i in images(driver)
            if record.is_finished(i) and record.VERSION in i]
    newest = max(held, key=ordering.natural_key, default=None)
    behind = any(a.kind == record.Kind.UPLOAD for a in actions)
    return _status_row(driver.name, name, releases, newest,
                       "behind" if behind else "in-sync", "")


def _status_row(instance, target, releases, glance, state, error):
    newest = max((r.version for r in releases or []), key=ordering.natural_key, default=None)
    return {"instance": instance, "target": target, "upstream": newest, "glance": glance,
            "state": state, "error": error}
