"""The options of a driver's group, owned by the drivers (as glance_store's
``Store.OPTIONS``): the common ones, whose defaults come from the driver class, then
the class's ``extra_opts``.

``common(Inherited)`` gives them with the defaults a driver class inherits unless it
sets its own: the sample documents those once, each driver group only what differs.
"""

from oslo_config import cfg
from oslo_config import types

from imgsync import conf as imgsync_conf

SIGNATURE_CHOICES = [("required", "refuse a checksum file without a valid signature"),
                     ("if-published", "verify a signature when upstream has one"),
                     ("off", "do not look for signatures")]


class Inherited:
    """Stands for any driver in the sample's [<driver>] group: the defaults a driver class
    inherits from base.Driver unless it sets its own (a unit test keeps them equal)."""

    upstream_url = None
    signature_default = "if-published"
    signature_style = None
    architectures = {}
    """Any: each driver group says which."""
    min_disk = min_ram = "see the driver's group"
    os_purpose = "generic"
    replace_frequency = "never"
    provided_until = "none"
    extra_opts = ()


def _signing(driver_cls):
    """How the upstream signs its checksum files, for the signature option's help."""
    if driver_cls is Inherited:
        return "each driver group says how its upstream signs"
    if driver_cls.signature_style:
        return f"{driver_cls.signature_style}: {driver_cls.signature_description}"
    return "this upstream publishes none"


def common(driver_cls):
    """The options every driver group has; defaults come from the driver class."""
    return [
        imgsync_conf.DRIVER_OPT,
        cfg.Opt("base_url", type=imgsync_conf.HttpUrl(),
                default=driver_cls.upstream_url,
                help="Root of the upstream site or of a mirror that copies its tree "
                     "below it."),
        cfg.StrOpt("ca_file",
                   help="CA certificates (PEM) to verify base_url's TLS certificate with, "
                        "for mirrors with a private CA. Unset: the system's CAs (or "
                        "REQUESTS_CA_BUNDLE)."),
        cfg.StrOpt("signature",
                   default=driver_cls.signature_default,
                   choices=SIGNATURE_CHOICES,
                   help="OpenPGP signature of upstream's checksum file"
                        f" ({_signing(driver_cls)})."),
        cfg.BoolOpt("allow_signature_downgrade", default=False,
                    help="Accept an unsigned build once this instance's images are signed "
                         "(by default it fails, whatever 'signature' says)."),
        cfg.StrOpt("signing_keys",
                   help="File of OpenPGP certificates (armored or binary, one or more) "
                        "that replaces the driver's shipped, pinned keys."),
        cfg.BoolOpt("allow_weak_checksums", default=False,
                    help="Accept an image whose upstream publishes only md5 or sha1 "
                         "checksums, which do not protect against a tampered mirror."),
        cfg.IntOpt("versions", default=1, min=1,
                   help="How many of the newest upstream builds to keep synced."),
        cfg.ListOpt("architectures", default=["x86_64"],
                    item_type=types.String(choices=list(driver_cls.architectures) or None),
                    help="Architectures to sync, in libosinfo names (Glance "
                         "'architecture'), whatever upstream calls them."),
        cfg.Opt("properties", type=imgsync_conf.Properties(), default={},
                help="Glance properties for this driver's images (key=value list), over "
                     "the driver's and [DEFAULT]'s; the same keys are reserved."),
        cfg.IntOpt("keep_versions", default=3, min=1,
                   help="How many of this driver's images (per architecture) stay as they "
                        "are; older ones get expire_action. Never fewer than 'versions'."),
        cfg.StrOpt("expire_action", default="hide",
                   choices=[("none", "leave older images alone"),
                            ("hide", "set os_hidden: out of default listings, still bootable"),
                            ("deactivate", "no new servers can boot from it (Glance's "
                                           "'deactivate' policy: admin before 2023.2, "
                                           "member since)"),
                            ("delete", "delete the image")],
                   help="What happens to this driver's images beyond keep_versions (never "
                        "to images not imgsync's own)."),
        cfg.BoolOpt("latest_name", default=False,
                    help="Name the newest image of each architecture just '<prefix><display "
                         "name>'; older ones keep '(<version>)'."),
        cfg.IntOpt("min_disk", min=0,
                   help="Glance min_disk in GiB (driver default: "
                        f"{driver_cls.min_disk})."),
        cfg.IntOpt("min_ram", min=0,
                   help="Glance min_ram in MiB (driver default: "
                        f"{driver_cls.min_ram})."),
    ] + scs(driver_cls)


def scs(driver_cls):
    """The SCS image metadata (scs-0102) of the driver's images, in Glance and in catalog
    files; the defaults are the driver's own."""
    return [
        cfg.StrOpt("os_purpose", default=driver_cls.os_purpose,
                   regex=r"^(generic|minimal|k8snode|gpu|network|custom)$",
                   help="os_purpose of the newest image of each architecture: generic, "
                        "minimal, k8snode, gpu, network or custom. An older image that stays "
                        "visible gives up 'generic' for 'oldgeneric'."),
        cfg.StrOpt("replace_frequency",
                   default=driver_cls.replace_frequency,
                   regex=r"^(yearly|quarterly|monthly|weekly|daily|critical_bug|never)$",
                   help="How often a new build replaces the image, as the cloud promises "
                        "(SCS): yearly, quarterly, monthly, weekly, daily, critical_bug or "
                        "never; no more often than upstream publishes."),
        cfg.StrOpt("uuid_validity",
                   regex=r"^(none|forever|notice|last-\d+|\d{4}-\d{2}-\d{2})$",
                   help="How long an image's id stays valid: none, forever, notice, last-N "
                        "or a YYYY-MM-DD date. Default: last-N, N the larger of keep_versions "
                        "and versions (none with expire_action = none)."),
        cfg.StrOpt("provided_until",
                   default=driver_cls.provided_until,
                   regex=r"^(none|notice|\d{4}-\d{2}-\d{2})$",
                   help="Until when the image is provided: none, notice or a YYYY-MM-DD "
                        "date (default: the release's end of upstream support)."),
        cfg.Opt("image_description", type=imgsync_conf.HttpUrl(),
                help="The distribution's page for the image (SCS image_description). "
                     "Default: the driver's page for it (the site's root for generic)."),
        cfg.IntOpt("hotfix_hours", min=0,
                   help="Hours within which the cloud replaces the image after a critical "
                        "upstream fix (SCS hotfix_hours; 0: best effort). Unset: not "
                        "promised."),
        cfg.ListOpt("catalog_tags", default=[],
                    help="Tags of this driver's images, in Glance and in the catalog files, "
                         "beside os:<os_distro> and [DEFAULT] managed_by_tag."),
    ]
