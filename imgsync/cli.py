"""The ``imgsync`` command: sync, check, status, catalog and list-distros."""

import datetime
import importlib.metadata
import json
import os
import re
import signal
import sys
import time

from oslo_config import cfg
from oslo_log import log

from imgsync import catalog
from imgsync import conf as imgsync_conf
from imgsync import config_check
from imgsync import drivers as drivers_mod
from imgsync import exceptions
from imgsync import executor
from imgsync import glance as glance_mod
from imgsync import locking
from imgsync import metrics
from imgsync import nova
from imgsync import ordering
from imgsync import plan
from imgsync import redact
from imgsync import report
from imgsync import reserved
from imgsync import sync
from imgsync import upstream as upstream_mod

LOG = log.getLogger(__name__)
EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2
_INSTANCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _csv(value):
    return [item.strip() for item in value.split(",") if item.strip()]


def _positive(value):
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


DISTRIBUTIONS_HELP = ("comma-separated instances (names in [DEFAULT] distributions, or "
                      "installed drivers) instead of [DEFAULT] distributions")
GLOBAL_OPTIONS = ("global options, before or after the command: --config-file FILE, "
                  "--config-dir DIR, --debug, --log-file FILE, --strict-config "
                  "(see 'imgsync --help')")


def _add_commands(subparsers):
    parser = subparsers.add_parser("sync", epilog=GLOBAL_OPTIONS,
                                   help="upload new upstream releases into Glance")
    parser.add_argument("--dry-run", action="store_true",
                        help="compare upstream with Glance and print the plan; change nothing")
    parser.add_argument("--distributions", type=_csv, dest="only",
                        help=DISTRIBUTIONS_HELP)
    parser.add_argument("--format", choices=("table", "json"), default="table",
                        help="a line per action, or one JSON document with a record each")
    parser.set_defaults(handler=cmd_sync)

    parser = subparsers.add_parser("check", epilog=GLOBAL_OPTIONS,
                                   help="print the newest upstream release of each "
                                        "configured instance (no Glance needed)")
    parser.add_argument("--distributions", type=_csv, dest="only",
                        help=DISTRIBUTIONS_HELP)
    parser.add_argument("--format", choices=("table", "json"), default="table",
                        help="a table with a header, or one JSON document")
    parser.set_defaults(handler=cmd_check)

    parser = subparsers.add_parser("status", epilog=GLOBAL_OPTIONS,
                                   help="per instance and Glance, upstream's newest "
                                        "build against Glance's: in-sync, behind or "
                                        "failing (downloads no image)")
    parser.add_argument("--distributions", type=_csv, dest="only",
                        help=DISTRIBUTIONS_HELP)
    parser.add_argument("--format", choices=("table", "json"), default="table",
                        help="a table with a header, or one JSON document")
    parser.set_defaults(handler=cmd_status)

    parser = subparsers.add_parser("catalog", epilog=GLOBAL_OPTIONS,
                                   help="write openstack-image-manager catalog files "
                                        "of upstream's releases (no Glance needed)")
    parser.add_argument("--output-dir", required=True,
                        help="directory of the <family>.yml files, created if missing")
    parser.add_argument("--distributions", type=_csv, dest="only",
                        help=DISTRIBUTIONS_HELP)
    parser.add_argument("--versions", type=_positive,
                        help="how many of the newest builds to list, instead of each "
                             "driver's 'versions'")
    parser.set_defaults(handler=cmd_catalog)

    parser = subparsers.add_parser("list-distros", epilog=GLOBAL_OPTIONS,
                                   help="list the installed drivers")
    parser.set_defaults(handler=cmd_list_distros)


def _validate(conf):
    """Read every option now, so a bad value fails at start with the option's name."""
    for key in conf:
        try:
            value = conf[key]
        except cfg.ConfigFileValueError as exc:
            raise _invalid(None, key, exc) from exc
        if isinstance(value, cfg.ConfigOpts.GroupAttr):
            for opt in value:
                try:
                    value[opt]
                except cfg.ConfigFileValueError as exc:
                    raise _invalid(key, opt, exc) from exc


def _invalid(group, opt, exc):
    """One line naming the group, option, file and reason of a ConfigFileValueError."""
    message = str(exc)
    where = re.search(r"detail='([^']*)'", message)
    return exceptions.ConfigError(
        f"invalid value for [{group or 'DEFAULT'}] {opt}"
        f"{' in ' + where.group(1) if where else ''}: {message.rpartition(' is not valid: ')[2]}")


def _register_instances(conf, available):
    """Give each configured instance that is not an installed driver's name the options of
    the driver its ``driver`` option names."""
    if conf.command.name == "list-distros":
        return
    for name in dict.fromkeys([*(conf.command.only or []), *conf.distributions]):
        if not _INSTANCE.fullmatch(name):
            raise exceptions.ConfigError(
                f"[DEFAULT] distributions: {name!r} is not a valid instance name (letters, "
                "digits, '.', '_' and '-', starting with a letter or digit)")
        if name in available:
            driver = conf[name].driver
            if driver not in (None, name):
                raise exceptions.ConfigError(
                    f"[{name}] driver = {driver}: {name} is an installed driver's name; "
                    "give the instance another name")
            continue
        if name in conf or name.upper() == "DEFAULT":
            raise exceptions.ConfigError(
                f"[DEFAULT] distributions: {name} is a section of imgsync's own "
                "configuration; give the instance another name")
        conf.register_opt(imgsync_conf.DRIVER_OPT, group=name)
        driver = conf[name].driver
        if driver not in available:
            what = f"driver = {driver} is not installed" if driver else (
                "driver is not set, and no installed driver has this name")
            raise exceptions.ConfigError(
                f"[{name}] {what} (installed: {', '.join(sorted(available))})")
        conf.register_opts(available[driver].opts(), group=name)


def _driver_class(conf, available, name):
    """The class of instance ``name``, or None when it is neither installed nor configured."""
    if name in available:
        return available[name]
    try:
        return available.get(conf[name].driver)
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
        return None


def _selected(conf, available):
    """The configured drivers, instantiated, in configuration order."""
    names = conf.command.only or conf.distributions
    source = "--distributions" if conf.command.only else "[DEFAULT] distributions"
    if not names:
        raise exceptions.ConfigError(
            f"{source} is empty: name the drivers to sync (see 'imgsync list-distros')")
    unknown = [name for name in names if _driver_class(conf, available, name) is None]
    if unknown:
        raise exceptions.ConfigError(
            f"{source}: unknown driver {', '.join(unknown)} "
            f"(installed: {', '.join(sorted(available))})")
    reserved.check(conf.properties, "[DEFAULT] properties")
    for name in names:
        reserved.check(conf[name].properties, f"[{name}] properties")
    return [_driver(conf, available, name) for name in names]


def _driver(conf, available, name):
    """The configured driver ``name``, with an upstream session of its own (its ca_file)."""
    group = conf[name]
    if group.ca_file and not os.access(group.ca_file, os.R_OK):
        raise exceptions.ConfigError(f"[{name}] ca_file: cannot read {group.ca_file}")
    upstream = upstream_mod.Upstream(
        conf.http_timeout, conf.http_retries, user_agent=f"imgsync/{_version()}",
        max_document_size=conf.max_document_size << 20,
        document_timeout=conf.document_timeout, min_rate=conf.min_download_rate * 1024,
        ca_file=group.ca_file)
    driver = _driver_class(conf, available, name)(name, group, upstream, conf.properties)
    driver.validate()
    return driver


def _driver_name(conf, available, name):
    """The installed driver instance ``name`` uses."""
    return name if name in available else conf[name].driver


def _version():
    """The installed package's version, as pip shows it (e.g. 2.2.0 or 2.2.1.dev3)."""
    return importlib.metadata.version("imgsync")


def cmd_sync(conf, available):
    started = time.time()
    selected = _selected(conf, available)
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
                {d.name: _driver_name(conf, available, d.name) for d in selected})
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
        state = ("pending" if plan.is_pending(image) else
                 "deactivated" if image.get("status") == "deactivated" else
                 "hidden" if image.get("os_hidden") else image.get("status", "unknown"))
        counts = states.setdefault(image.get("imgsync.distro") or "", {})
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
        from imgsync import tooz_locks  # noqa: PLC0415 - tooz only where configured
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
        return _driver(conf, available, name) if _driver_class(conf, available, name) else None

    try:
        paths = catalog.write_glance(conf.catalog_dir, glance, make_driver, names,
                                     conf.prefix, conf.visibility)
    except OSError as exc:
        raise exceptions.ImgsyncError(f"[DEFAULT] catalog_dir: {exc}") from exc
    LOG.info("wrote %s", ", ".join(paths) or f"no catalog files to {conf.catalog_dir}")


CHECK_HEADER = f"{'INSTANCE':<20} {'VERSION':<14} {'BUILT':<11} URL"


def cmd_check(conf, available):
    rows, failed = [], False
    for driver in _selected(conf, available):
        releases, error = exceptions.attempt(driver.releases)
        if error:
            LOG.error("%s: %s", driver.name, error)
            rows.append({"instance": driver.name, "error": str(error)})
            failed = True
            continue
        release = releases[0]
        rows.append({"instance": driver.name, "version": release.version,
                     "build_date": release.build_date.isoformat(), "url": release.url})
    if conf.command.format == "json":
        print(redact.text(json.dumps(rows, indent=2)))
    else:
        print(CHECK_HEADER)
        for row in rows:
            if "error" in row:
                line = f"{row['instance']:<20} FAILED: {row['error']}"
            else:
                line = (f"{row['instance']:<20} {row['version']:<14} {row['build_date']:<11} "
                        f"{row['url']}")
            print(redact.text(line))
    return EXIT_FAILED if failed else EXIT_OK


def cmd_status(conf, available):
    """Compare without changing anything: exit 1 when an instance or a Glance fails."""
    selected = _selected(conf, available)
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
            held = [i["imgsync.version"] for i in images
                    if plan.is_finished(i) and "imgsync.version" in i]
            newest = max(held, key=ordering.natural_key, default=None)
            behind = any(a.kind == plan.UPLOAD for a in actions)
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


def cmd_catalog(conf, available):
    drivers = _selected(conf, available)
    if conf.command.versions:
        for driver in drivers:
            conf.set_override("versions", conf.command.versions, group=driver.name)
    try:
        paths, failed = catalog.write_upstream(conf.command.output_dir, drivers, conf.prefix,
                                               conf.visibility)
    except OSError as exc:
        raise exceptions.ImgsyncError(f"--output-dir: {exc}") from exc
    for path in paths:
        print(path)
    return EXIT_FAILED if failed else EXIT_OK


def cmd_list_distros(conf, available):
    print(f"{'DRIVER':<20} {'NAME':<24} UPSTREAM")
    for name, driver_cls in sorted(available.items(),
                                   key=lambda item: ordering.natural_key(item[0])):
        upstream = driver_cls.upstream_url or "(its base_url, set per instance)"
        print(f"{name:<20} {driver_cls.display_name:<24} {upstream}")
    return EXIT_OK


def _check_config_paths(args):
    """``--config-file`` must be a readable file and ``--config-dir`` a directory."""
    for index, arg in enumerate(args):
        option, equals, value = arg.partition("=")
        if option not in ("--config-file", "--config-dir"):
            continue
        if not equals and index + 1 < len(args):
            value = args[index + 1]
        if option == "--config-file":
            if os.path.isdir(value):
                raise exceptions.ConfigError(f"--config-file {value} is a directory "
                                             "(use --config-dir for a directory)")
            if os.path.exists(value) and not os.access(value, os.R_OK):
                raise exceptions.ConfigError(f"--config-file {value}: cannot read it")
        elif os.path.exists(value) and not os.path.isdir(value):
            raise exceptions.ConfigError(f"--config-dir {value} is not a directory")


def _terminate(signum, frame):
    raise SystemExit(128 + signum)


DESCRIPTION = """\
imgsync keeps an OpenStack cloud's public images up to date: it asks each configured
distribution whether a new cloud image was released, streams it from upstream or a
mirror, verifies it (signed checksums, format inspection) and publishes it in Glance,
then rotates old versions out.

Configuration: /etc/imgsync/imgsync.conf and /etc/imgsync/imgsync.conf.d/*.conf by
default (--config-file, --config-dir); see etc/imgsync/imgsync.conf.sample.
"""
EPILOG = """\
exit status: 0 all done; 1 one or more instances failed (the others were still
processed); 2 a configuration or usage error.

example: imgsync --config-file /etc/imgsync/imgsync.conf sync --dry-run
"""
VALUED = {"--config-file", "--config-dir", "--log-file", "--logfile", "--log-dir", "--logdir",
          "--log-config-append", "--log-config", "--log_config", "--log-date-format",
          "--syslog-log-facility"}
FLAGS = {"--debug", "-d", "--nodebug", "--use-syslog", "--nouse-syslog", "--use-journal",
         "--nouse-journal", "--use-json", "--nouse-json", "--strict-config",
         "--nostrict-config"}
COMMANDS = ("sync", "check", "status", "catalog", "list-distros")


def _globals_first(args):
    """Move global options given after the sub-command (``sync --config-file F``) before
    it, where oslo.config looks for them."""
    index, skip = None, False
    for position, arg in enumerate(args):
        if skip:
            skip = False
        elif arg in VALUED:
            skip = True
        elif arg in COMMANDS:
            index = position
            break
    if index is None:
        return list(args)
    moved, kept, rest = [], [], args[index + 1:]
    position = 0
    while position < len(rest):
        arg = rest[position]
        name = arg.split("=", 1)[0]
        if arg in VALUED and position + 1 < len(rest):
            moved += rest[position:position + 2]
            position += 2
            continue
        (moved if name in VALUED or arg in FLAGS else kept).append(arg)
        position += 1
    return [*args[:index], *moved, args[index], *kept]


def main(argv=None):
    conf = cfg.ConfigOpts()
    available = drivers_mod.available()
    conf.register_cli_opt(cfg.SubCommandOpt("command", title="commands",
                                            handler=_add_commands))
    conf.register_cli_opt(cfg.BoolOpt(
        "strict-config", default=False,
        help="Make unknown options and groups in the configuration files errors (exit 2) "
             "instead of warnings."))
    imgsync_conf.register_opts(conf, available)
    log.register_options(conf)
    conf.set_default("use_stderr", True)
    args = _globals_first(sys.argv[1:] if argv is None else argv)
    try:
        _check_config_paths(args)
        try:
            conf(args, project="imgsync", prog="imgsync", version=_version(),
                 description=DESCRIPTION,
                 epilog=EPILOG)
        except OSError as exc:   # e.g. a directory named *.conf in --config-dir
            raise exceptions.ConfigError(
                f"cannot read the configuration: {exc.filename or ''}: "
                f"{exc.strerror or exc}") from exc
        _register_instances(conf, available)
        _validate(conf)
        unknown = config_check.unknown(conf) if conf.command.name != "list-distros" else []
        if unknown and conf.strict_config:
            raise exceptions.ConfigError(f"{unknown[0]} (--strict-config)"
                                         + (f"; and {len(unknown) - 1} more"
                                            if len(unknown) > 1 else ""))
    except (cfg.Error, exceptions.ConfigError) as exc:
        print(f"imgsync: {redact.text(exc)}", file=sys.stderr)
        return EXIT_CONFIG
    log.setup(conf, "imgsync")
    redact.install()
    signal.signal(signal.SIGTERM, _terminate)
    for problem in unknown:
        LOG.warning("%s", problem)
    if conf.command.name != "list-distros" and not config_check.files(conf):
        LOG.warning("no configuration file was read (none given with --config-file or "
                    "--config-dir, and no imgsync.conf in /etc/imgsync, /etc, ~/.imgsync "
                    "or ~/): running on defaults")
    try:
        return conf.command.handler(conf, available)
    except (cfg.Error, exceptions.ConfigError) as exc:
        print(f"imgsync: {redact.text(exc)}", file=sys.stderr)
        return EXIT_CONFIG
    except exceptions.ImgsyncError as exc:
        error = redact.text(exc)
    except BrokenPipeError:   # e.g. 'imgsync list-distros | head': the reader is done
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    LOG.error("%s", error)   # outside the handler, so oslo.log adds no second summary
    if getattr(conf.command, "format", None) == "json":   # a reader of stdout learns why
        print(json.dumps({"error": error}, indent=2))
    return EXIT_FAILED
