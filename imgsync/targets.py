"""What a run works on, built from the configuration: its settings, its target Glances
(each connected on its own), its object-store mirror and its locks."""

import logging

from imgsync import exceptions
from imgsync.engine import sync
from imgsync.glance import client as glance_mod
from imgsync.glance import nova
from imgsync.mirror import target as mirror_target
from imgsync.ops import locking

LOG = logging.getLogger(__name__)


def settings(conf):
    return sync.Settings(
        prefix=conf.prefix, visibility=conf.visibility,
        max_image_size=conf.max_image_size * 1024 ** 3, upload_method=conf.upload_method,
        web_download_unverified=conf.web_download_unverified,
        pending_grace_period=conf.pending_grace_period, same_image_id=conf.same_image_id,
        behind_timeout=conf.glance.behind_timeout, managed_by_tag=conf.managed_by_tag)


def targets(conf):
    """The Glances to sync into: each of [glance] clouds and region_names, or the one.

    Each is connected on its own: of several, one that cannot be reached now is kept,
    with its error, to fail alone; a run with one Glance stops on it. None with
    ``[glance] enabled = false`` (a mirror-only run)."""
    if not conf.glance.enabled:
        if not conf.mirror.store:
            raise exceptions.ConfigError(
                "[glance] enabled = false and no [mirror] store: nothing to sync into")
        return []
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


def locks(conf):
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


def mirror(conf, several):
    """The run's object-store mirror: (Mirror, None), (None, None) without one, or, when
    it cannot be reached now, (None, its error) to fail alone where other targets
    (``several``) are synced; alone, it stops the run."""
    if not conf.mirror.store:
        return None, None
    try:
        store = _swift(conf) if conf.mirror.store == "swift" else _s3(conf)
        store.ensure()
    except exceptions.MirrorError as exc:
        if not several:
            raise
        error = str(exc)
    else:
        return mirror_target.Mirror(store, conf.mirror.keep_versions, conf.mirror.public_url), None
    LOG.error("%s: %s", mirror_target.NAME, error)   # outside the handler: no second summary
    return None, error


def _swift(conf):
    from imgsync.mirror import swift  # noqa: PLC0415 - only where configured
    least = -(-conf.max_image_size * 1024 ** 3 // swift.MAX_SEGMENTS)   # bytes, at least
    return swift.SwiftStore(swift.connect(conf), conf.mirror.container,
                            max(conf.mirror.segment_size << 20, least), conf.mirror.public_read)


def _s3(conf):
    from imgsync.mirror import s3  # noqa: PLC0415 - boto3 only where configured
    missing = [name for name in ("s3_endpoint", "s3_access_key", "s3_secret_key")
               if not conf.mirror[name]]
    if missing:
        raise exceptions.ConfigError(f"[mirror] store = s3 needs [mirror] {missing[0]}")
    client = s3.client(conf.mirror.s3_endpoint, conf.mirror.s3_region, conf.mirror.s3_access_key,
                       conf.mirror.s3_secret_key, conf.mirror.timeout,
                       conf.mirror.s3_addressing_style)
    limit = -(-conf.max_image_size * 1024 ** 3 // s3.MAX_PARTS)   # bytes per part, at least
    part_size = max(conf.mirror.part_size << 20, limit)
    return s3.S3Store(client, conf.mirror.container, part_size, conf.mirror.public_read)
