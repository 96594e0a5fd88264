"""Where a build lies in the object-store mirror and what its object says of it. Pure.

Objects are named as openstack-image-manager's mirror names them,
``<shortname>/<version>-<shortname>.<format>``; their metadata is the part of imgsync's
Glance record (imgsync.model.record) that describes the build, its names written with
``-`` for ``.`` and ``_`` (HTTP header names, which object stores keep metadata in, take
neither safely), plus the digests of the stored bytes.
"""

from imgsync.model import record

RECORD_KEYS = ("source", record.DISTRO, record.VERSION, record.URL, record.SIGNED_BY,
               record.SIGNED_AT, "architecture", "image_build_date",
               *map(record.checksum_key, record.CHECKSUM_ALGOS))
"""The keys of the Glance record that an object carries too (its checksum one of them)."""
NAMES = {key_: key_.replace(".", "-").replace("_", "-") for key_ in RECORD_KEYS}
"""Each record key's metadata name."""
KEYS = {name: key_ for key_, name in NAMES.items()}
STORED_DIGESTS = ("sha256", "sha512")
"""Digests of the object's own bytes, as metadata of that name, when they are known."""


def shortname(distro, architecture):
    """openstack-image-manager's shortname: the instance, with the architecture unless
    it is x86_64 (as the catalog's ``shortname``)."""
    return distro + ("" if architecture in ("x86_64", "", None) else f"-{architecture}")


def key(release):
    """The object name of ``release``: ``<shortname>/<version>-<shortname>.<format>``."""
    name = shortname(release.distro, release.metadata.get("architecture"))
    return f"{name}/{release.version}-{name}.{release.disk_format}"


def metadata(release, digests=None):
    """The object metadata of ``release`` (NAMES, values text), with ``digests`` of the
    stored bytes (``{algo: hex}``) where known."""
    props = record.properties(release)
    meta = {name: str(props[key_]) for key_, name in NAMES.items() if props.get(key_)}
    meta.update({algo: value for algo, value in (digests or {}).items()
                 if algo in STORED_DIGESTS})
    return meta


def image(key_, size, meta, url):
    """An object read back as an image record (the keys imgsync.model.record names), so
    that the catalog and imgsync.upstream.trust read it as they read an image; None for
    an object imgsync did not write, or not under that name."""
    props = {KEYS[name]: value for name, value in meta.items() if name in KEYS}
    if props.get("source") != record.SOURCE or not props.get(record.VERSION):
        return None
    name = shortname(props.get(record.DISTRO), props.get("architecture"))
    if not key_.startswith(f"{name}/{props[record.VERSION]}-{name}."):
        return None   # a copy under another name (a backup, say) is not imgsync's
    return {**props, "id": None, "object": key_, "size": size, "status": "active",
            record.MIRROR_URL: url}


def is_synced(obj, release):
    """Whether ``obj`` (an image record of an object) holds ``release``."""
    return (obj.get("object") == key(release)
            and obj.get(record.checksum_key(release.checksum_algo)) == release.checksum)
