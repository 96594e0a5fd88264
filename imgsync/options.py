"""The options oslo-config-generator writes to the sample (namespace ``imgsync``), laid
out for an operator to read: the global groups; the options every driver group has,
documented once in a ``[<driver>]`` group; and each driver group with only its own
defaults that differ from those, and the driver's own options. [nova]'s adapter options
are [glance]'s, documented there."""

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
            (_common_group([name for name, _ in available]),
             driver_options.common(driver_options.Inherited)),
            *(_driver_group(name, cls) for name, cls in available)]


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
            (imgsync_conf.COORDINATION_GROUP, imgsync_conf.coordination_opts)]


def _common_group(names):
    """The group that documents the common driver options (no real group has this name)."""
    return cfg.OptGroup(COMMON_GROUP, help=(
        f"Not a group to set: the options of every driver group below ([{names[0]}] to "
        f"[{names[-1]}], see 'imgsync list-distros') and of every instance group, with "
        "these defaults where the driver's group shows none of its own."))


def _driver_group(name, cls):
    """The driver's group: the common options whose default is the driver's own, then
    the driver's own options."""
    inherited = {opt.dest: opt.default
                 for opt in driver_options.common(driver_options.Inherited)}
    own = [_brief(opt, COMMON_GROUP) for opt in driver_options.common(cls)
           if opt.default != inherited[opt.dest]]
    return cfg.OptGroup(name, help=_summary(cls)), own + list(cls.extra_opts)


def _summary(cls):
    """What the driver's group tells beside its defaults: what is not an option default."""
    if cls.signature_style:
        signing = f"signed checksums ({cls.signature_style}: {cls.signature_description})"
    else:
        signing = "no signatures upstream"
    return (f"{cls.display_name}: architectures {', '.join(cls.architectures)}; "
            f"min_disk {cls.min_disk} GiB and min_ram {cls.min_ram} MiB unless set; "
            f"{signing}.")


def _brief(opt, documented_in):
    """``opt`` with its default only, the rest told in the group ``documented_in``."""
    brief = copy.copy(opt)
    brief.help = f"See [{documented_in}]."
    if getattr(opt.type, "choices", None):
        brief.type = types.String(type_name=opt.type.type_name)
    return brief
