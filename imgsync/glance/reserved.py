"""Image properties an operator may not set: Glance's own fields and imgsync's record."""

from imgsync import exceptions

GLANCE_CORE = frozenset({
    "id", "name", "status", "visibility", "protected", "os_hidden", "checksum",
    "os_hash_algo", "os_hash_value", "owner", "size", "virtual_size", "disk_format",
    "container_format", "min_disk", "min_ram", "created_at", "updated_at", "tags",
    "direct_url", "locations", "self", "file", "schema", "stores",
})
"""Attributes of Glance's image schema (and its reserved ``stores``)."""
HINTS = {
    "visibility": "use [DEFAULT] visibility",
    "min_disk": "use the driver's min_disk option",
    "min_ram": "use the driver's min_ram option",
    "name": "use [DEFAULT] prefix or the driver's latest_name option",
    "os_hidden": "imgsync hides images only until they are verified, or by expire_action",
}
IMGSYNC_OWN = {
    "source": "imgsync's mark on its images",
    "image_build_date": "imgsync records upstream's build date",
    "image_source": "imgsync records the image's URL on the official site",
    "architecture": "set by the driver's architectures option; naming and rotation rely on it",
}


def reason(key):
    """Why ``key`` may not be set in ``properties``, or None when it may."""
    if key in GLANCE_CORE:
        hint = HINTS.get(key)
        return "a Glance core attribute" + (f"; {hint}" if hint else "")
    if key.startswith("os_glance"):
        return "reserved by Glance"
    if key.startswith("imgsync."):
        return "imgsync's own record"
    return IMGSYNC_OWN.get(key)


def check(properties, option):
    """Raise ConfigError naming ``option`` for the first reserved key of ``properties``."""
    for key in properties:
        why = reason(key)
        if why:
            raise exceptions.ConfigError(f"{option}: {key!r} is reserved ({why})")
