"""The commands that need Glance, ``sync`` and ``status``: imported only when they run,
so that the others never load openstacksdk."""

import logging
import time

from imgsync import exceptions
from imgsync import instances
from imgsync import ordering
from imgsync import targets as targets_mod
from imgsync.engine import executor
from imgsync.engine import sync
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
    LOG.info("syncing %s into Glance at %s", ", ".join(d.name for d in selected),
             ", ".join(f"{t.glance.endpoint()}{f' ({t.name})' if t.name else ''}"
                       for t in up) or "none (none could be reached)")
    with targets_mod.locks(conf) as locks:
        syncer = sync.Syncer(targets, targets_mod.settings(conf), locks,
                             dry_run=conf.command.dry_run)
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
    targets = targets_mod.targets(conf)
    # the planning path of 'sync --dry-run': listings, the planner and the in-use check
    syncer = sync.Syncer([t for t in targets if not t.error], targets_mod.settings(conf),
                         locks=None, dry_run=True)
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
            actions, error = exceptions.attempt(syncer.plan, target, driver, releases)
            if error:
                LOG.error("%s: %s", driver.name, error)
                rows.append(_status_row(driver.name, target.name, releases, None, "failing",
                                        str(error)))
                continue
            held = [i[record.VERSION] for i in syncer.images(target, driver)
                    if record.is_finished(i) and record.VERSION in i]
            newest = max(held, key=ordering.natural_key, default=None)
            behind = any(a.kind == record.Kind.UPLOAD for a in actions)
            rows.append(_status_row(driver.name, target.name, releases, newest,
                                    "behind" if behind else "in-sync", ""))
    report.status(rows, conf.command.format)
    return EXIT_FAILED if any(r["state"] == "failing" for r in rows) else EXIT_OK


def _status_row(instance, target, releases, glance, state, error):
    newest = max((r.version for r in releases or []), key=ordering.natural_key, default=None)
    return {"instance": instance, "target": target, "upstream": newest, "glance": glance,
            "state": state, "error": error}
