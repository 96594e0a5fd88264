"""The instance registry: which driver each name in [DEFAULT] distributions uses, its
options, and the configured drivers themselves (as glance_store's multi_backend maps
``enabled_backends`` to groups)."""

import importlib.metadata
import os
import re

from oslo_config import cfg

from imgsync import conf as imgsync_conf
from imgsync import exceptions
from imgsync.glance import reserved
from imgsync.upstream import http as upstream_mod

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def register(conf, available):
    """Give each configured instance that is not an installed driver's name the options of
    the driver its ``driver`` option names."""
    if conf.command.name == "list-distros":
        return
    for name in dict.fromkeys([*(conf.command.only or []), *conf.distributions]):
        if not NAME.fullmatch(name):
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


def driver_class(conf, available, name):
    """The class of instance ``name``, or None when it is neither installed nor configured."""
    if name in available:
        return available[name]
    try:
        return available.get(conf[name].driver)
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
        return None


def selected(conf, available):
    """The configured drivers, instantiated, in configuration order."""
    names = conf.command.only or conf.distributions
    source = "--distributions" if conf.command.only else "[DEFAULT] distributions"
    if not names:
        raise exceptions.ConfigError(
            f"{source} is empty: name the drivers to sync (see 'imgsync list-distros')")
    unknown = [name for name in names if driver_class(conf, available, name) is None]
    if unknown:
        raise exceptions.ConfigError(
            f"{source}: unknown driver {', '.join(unknown)} "
            f"(installed: {', '.join(sorted(available))})")
    reserved.check(conf.properties, "[DEFAULT] properties")
    for name in names:
        reserved.check(conf[name].properties, f"[{name}] properties")
    return [build(conf, available, name) for name in names]


def build(conf, available, name):
    """The configured driver ``name``, with an upstream session of its own (its ca_file)."""
    group = conf[name]
    if group.ca_file and not os.access(group.ca_file, os.R_OK):
        raise exceptions.ConfigError(f"[{name}] ca_file: cannot read {group.ca_file}")
    upstream = upstream_mod.Upstream(
        conf.http_timeout, conf.http_retries, user_agent=f"imgsync/{version()}",
        max_document_size=conf.max_document_size << 20,
        document_timeout=conf.document_timeout, min_rate=conf.min_download_rate * 1024,
        ca_file=group.ca_file)
    driver = driver_class(conf, available, name)(name, group, upstream, conf.properties)
    driver.validate()
    return driver


def driver_name(conf, available, name):
    """The installed driver instance ``name`` uses."""
    return name if name in available else conf[name].driver


def version():
    """The installed package's version, as pip shows it (e.g. 2.2.0 or 2.2.1.dev3)."""
    return importlib.metadata.version("imgsync")
