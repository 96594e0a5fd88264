"""The ``imgsync`` command: sync, check, status, catalog and list-distros.

Each command imports only what it uses: ``--version`` answers before oslo.config is
imported, ``--help`` before the drivers and keystoneauth1 are, and only ``sync`` and
``status`` load openstacksdk (imgsync.commands).
"""

import importlib.metadata
import json
import logging
import os
import re
import signal
import sys

from imgsync import exceptions
from imgsync import ordering
from imgsync import redact

LOG = logging.getLogger(__name__)
EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


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
    from oslo_config import cfg  # noqa: PLC0415 - not imported for --version

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


def cmd_sync(conf, available):
    from imgsync import commands  # noqa: PLC0415 - openstacksdk only where Glance is needed
    return commands.sync_command(conf, available)


def cmd_status(conf, available):
    from imgsync import commands  # noqa: PLC0415 - openstacksdk only where Glance is needed
    return commands.status_command(conf, available)


CHECK_HEADER = f"{'INSTANCE':<20} {'VERSION':<14} {'BUILT':<11} URL"


def cmd_check(conf, available):
    from imgsync import instances  # noqa: PLC0415 - not imported for --version
    rows, failed = [], False
    for driver in instances.selected(conf, available):
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


def cmd_catalog(conf, available):
    from imgsync import instances  # noqa: PLC0415 - not imported for --version
    from imgsync.ops import catalog  # noqa: PLC0415 - nor yaml by the other commands
    drivers = instances.selected(conf, available)
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
    args = _globals_first(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--version"]:   # what argparse answers, without importing oslo.config
        print(importlib.metadata.version("imgsync"))
        raise SystemExit(EXIT_OK)
    from oslo_config import cfg  # noqa: PLC0415 - not imported for --version
    from oslo_log import log  # noqa: PLC0415

    conf = cfg.ConfigOpts()
    conf.register_cli_opt(cfg.SubCommandOpt("command", title="commands",
                                            handler=_add_commands))
    conf.register_cli_opt(cfg.BoolOpt(
        "strict-config", default=False,
        help="Make unknown options and groups in the configuration files errors (exit 2) "
             "instead of warnings."))
    log.register_options(conf)
    conf.set_default("use_stderr", True)
    try:
        _check_config_paths(args)
        try:
            conf(args, project="imgsync", prog="imgsync",
                 version=importlib.metadata.version("imgsync"),
                 description=DESCRIPTION,
                 epilog=EPILOG)
        except OSError as exc:   # e.g. a directory named *.conf in --config-dir
            raise exceptions.ConfigError(
                f"cannot read the configuration: {exc.filename or ''}: "
                f"{exc.strerror or exc}") from exc
        from imgsync import config_check  # noqa: PLC0415 - keystoneauth1: not for --help
        available = _register_opts(conf)
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


def _register_opts(conf):
    """Register the configuration files' options and return the installed drivers. Only
    once the command line is parsed, so that ``--help`` (it exits there) loads neither the
    drivers nor keystoneauth1; oslo.config reads an option's value when it is looked up."""
    from imgsync import conf as imgsync_conf  # noqa: PLC0415
    from imgsync import instances  # noqa: PLC0415
    from imgsync.upstream import drivers  # noqa: PLC0415

    available = drivers.available()
    imgsync_conf.register_opts(conf, available)
    instances.register(conf, available)
    return available
