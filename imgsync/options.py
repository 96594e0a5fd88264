"""The options oslo-config-generator writes to the sample (namespace ``imgsync``), laid
out for an operator to read: the global groups; the options every driver group has,
documented once in a ``[<driver>]`` group that lists each driver with the defaults it
changes; and the drivers' own options, once per set. [nova]'s adapter options are
[glance]'s, documented there."""

import copy

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg
from oslo_config import types

from imgsync import conf as imgsync_conf
from imgsync.upstream import drivers
from imgsync.upstream.drivers import options as driver_options

COMMON_GROUP = "<driver>"


def list_opts():
    """Options for oslo-config-generator (entry point ``oslo.config.opts: imgsync``)."""
    available = sorted(drivers.available().items())
    return [*_global_groups(),
            (_common_group(available), driver_options.common(driver_options.Inherited)),
            *_own_groups(available)]


def _global_groups():
    adapter_opts = ks_loading.get_adapter_conf_options(include_deprecated=False)
    keystone_opts = (ks_loading.get_session_conf_options()
                     + ks_loading.get_auth_common_conf_options()
                     + ks_loading.get_auth_plugin_conf_options("password"))
    return [("DEFAULT", imgsync_conf.default_opts),
            (imgsync_conf.GLANCE_GROUP, imgsync_conf.glance_opts + adapter_opts),
            (imgsync_conf.KEYSTONE_AUTH_GROUP, keystone_opts),
            (cfg.OptGroup(imgsync_conf.NOVA_GROUP, help=(
                "How to reach Nova (only skip_images_in_use does): the adapter options "
                f"of [{imgsync_conf.GLANCE_GROUP}].")),
             [_brief(opt, imgsync_conf.GLANCE_GROUP) for opt in adapter_opts]),
            (imgsync_conf.COORDINATION_GROUP, imgsync_conf.coordination_opts),
            (imgsync_conf.MIRROR_GROUP, imgsync_conf.mirror_opts)]


def _common_group(available):
    """The group that documents the common driver options (no real group has this name),
    and lists every driver with the defaults it changes: a group per driver would make
    the sample thousands of lines."""
    return cfg.OptGroup(COMMON_GROUP, help="\n".join([
        "Not a group to set: the options of every driver group and of every instance "
        "group, with these defaults unless the driver's differ. The drivers (as 'imgsync "
        "list-distros' lists them), each with what it changes:",
        *(line for name, cls in available for line in _driver_lines(name, cls))]))


def _driver_lines(name, cls):
    """A driver in the list of [<driver>]: what it is, then each default it changes."""
    inherited = {opt.dest: opt.default
                 for opt in driver_options.common(driver_options.Inherited)}
    changed = [f"    {opt.dest} = {_shown(opt.default)}" for opt in driver_options.common(cls)
               if opt.default != inherited[opt.dest]]
    what, *more = _summary(cls)
    return [f"  [{name}] {what}", *(f"    {line}" for line in more), *changed]


def _own_groups(available):
    """A group for the drivers' own options, once per set of them, named after the first
    driver that has them."""
    seen = {}
    for name, cls in available:
        if cls.extra_opts:
            key = repr([(opt.dest, opt.default, opt.help) for opt in cls.extra_opts])
            seen.setdefault(key, (name, cls, []))[2].append(name)
    return [(cfg.OptGroup(name, help=(
                f"The own options of {', '.join(f'[{n}]' for n in names)}, beside "
                f"[{COMMON_GROUP}]'s.")), list(cls.extra_opts))
            for name, cls, names in seen.values()]


def _shown(value):
    return ",".join(map(str, value)) if isinstance(value, list | tuple) else value


def _summary(cls):
    """What a driver is, beside its option defaults, in short lines."""
    if cls.signature_style:
        signing = (f"signed checksums ({cls.signature_style}: "
                   f"{cls.signature_description.split(', ')[0]})")
    else:
        signing = "no signatures upstream"
    return [f"{cls.display_name}: {', '.join(cls.architectures)}", signing,
            f"min_disk {cls.min_disk} GiB, min_ram {cls.min_ram} MiB unless set"]


def _brief(opt, documented_in):
    """``opt`` with its default only, the rest told in the group ``documented_in``."""
    brief = copy.copy(opt)
    brief.help = f"See [{documented_in}]."
    if getattr(opt.type, "choices", None):
        brief.type = types.String(type_name=opt.type.type_name)
    return brief
