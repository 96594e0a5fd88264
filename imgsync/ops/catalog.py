"""Catalog files for osism's openstack-image-manager: one ``<family>.yml`` per family."""

import contextlib
import dataclasses
import datetime
import io
import logging
import os
import re

import yaml

from imgsync import exceptions
from imgsync import ordering
from imgsync import redact
from imgsync.model import record
from imgsync.ops import atomic

LOG = logging.getLogger(__name__)

META_KEYS = (
    "architecture", "hw_disk_bus", "hw_rng_model", "hw_scsi_model", "hw_watchdog_action",
    "hypervisor_type", "os_distro", "os_version", "os_purpose", "replace_frequency",
    "uuid_validity", "provided_until", "os_type", "os_admin_user", "hw_qemu_guest_agent",
    "hw_firmware_type", "hw_machine_type", "hw_cdrom_bus", "hw_vif_multiqueue_enabled",
    "image_description", "hotfix_hours", "patchlevel",
)
"""The image properties openstack-image-manager knows, in the order they are written."""
META_DEFAULTS = {"hw_disk_bus": "virtio", "hypervisor_type": "qemu"}
"""What Nova assumes when a property is unset, for the keys the format requires."""
CHECKSUM_ALGOS = ("sha512", "sha256", "sha1", "md5")
"""The algorithms the format accepts, strongest first."""


@dataclasses.dataclass(frozen=True)
class Version:
    """One build of one image, as a ``versions:`` item."""

    version: str
    url: str
    checksum: str | None
    build_date: datetime.date | None = None
    image_id: str | None = None
    hidden: bool = False
    mirror_url: str | None = None


class _Quoted(str):
    """A string always written single-quoted (versions, which look like numbers)."""


class _Dumper(yaml.SafeDumper):
    """Block style, list items indented below their key as in the project's own files."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)

    def ignore_aliases(self, data):
        return True   # equal dates must not become anchors and *aliases


_Dumper.add_representer(
    _Quoted, lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:str", value,
                                                           style="'"))


def _date(value):
    """A ``YYYY-MM-DD`` option value as a date, anything else (none, last-3) as is."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return datetime.date.fromisoformat(value)
    return value


def _scalar(key, value):
    if key == "hotfix_hours":
        return int(value)
    if key in ("uuid_validity", "provided_until"):
        return _date(value)
    lowered = str(value).lower()
    return lowered == "true" if lowered in ("true", "false") else value


def _version_item(driver, version):
    """A ``versions:`` item: the official URL and, from a mirror, its URL without credentials
    (images of older imgsync releases recorded the mirror's URL as ``imgsync.url``)."""
    url = driver.official_url(version.url)
    mirror_url = version.mirror_url or (version.url if version.url != url else None)
    item = {"version": _Quoted(version.version), "url": url, "source": url}
    if mirror_url:
        item["mirror_url"] = redact.without_credentials(mirror_url)
    if version.checksum:
        item["checksum"] = version.checksum
    if version.build_date:
        item["build_date"] = version.build_date
    if version.image_id:
        item["id"] = version.image_id
    if version.hidden:
        item["hidden"] = True
    return item


def entry(driver, template, versions, prefix, visibility):
    """One ``images:`` item: ``template``'s (a Release) static fields, and the versions."""
    conf = driver.conf
    known = {**META_DEFAULTS, **template.metadata, **driver.catalog_meta}
    meta = {key: _scalar(key, known[key]) for key in META_KEYS if key in known}
    if "os_version" in meta:
        meta["os_version"] = _Quoted(meta["os_version"])
    architecture = template.metadata["architecture"]
    return {
        "name": f"{prefix}{template.display_name}",
        "enable": True,
        "shortname": driver.name + ("" if architecture == "x86_64" else f"-{architecture}"),
        "format": template.disk_format,
        "login": template.metadata.get("os_admin_user", "root"),
        "min_disk": template.min_disk,
        "min_ram": template.min_ram,
        "status": "active",
        "visibility": visibility,
        "multi": True,
        "meta": meta,
        "tags": list(conf.catalog_tags),
        "versions": [_version_item(driver, v)
                     for v in sorted(versions, key=lambda v: ordering.natural_key(v.version),
                                     reverse=True)],
    }


def upstream_entries(driver, prefix, visibility):
    """A driver's entries from upstream's newest releases (one per architecture)."""
    by_arch = {}
    for release in driver.releases():
        by_arch.setdefault(release.metadata["architecture"], []).append(release)
    return [entry(driver, releases[0],
                  [Version(r.version, r.official_url, f"{r.checksum_algo}:{r.checksum}",
                           r.build_date, mirror_url=r.mirror_url)
                   for r in releases],
                  prefix, visibility)
            for _, releases in sorted(by_arch.items())]


def _image_version(image):
    checksum = next((f"{algo}:{value}" for algo, value in record.checksums(image).items()
                     if algo in CHECKSUM_ALGOS), None)
    build_date = image.get("image_build_date")
    return Version(image[record.VERSION], image[record.URL], checksum,
                   datetime.date.fromisoformat(build_date[:10]) if build_date else None,
                   image["id"], record.is_hidden(image), image.get(record.MIRROR_URL))


def glance_entries(driver, images, prefix, visibility):
    """A driver's entries from its usable images in Glance (one per architecture): a
    deactivated one, which no server can boot, is left out, as are unfinished ones.

    Static fields come from the driver's configuration, ``meta`` from the newest image.
    """
    by_arch = {}
    for image in images:
        if record.is_usable(image) and record.VERSION in image:
            by_arch.setdefault(image.get("architecture", "x86_64"), []).append(image)
    entries = []
    for architecture, found in sorted(by_arch.items()):
        newest = max(found, key=lambda image: ordering.natural_key(image[record.VERSION]))
        template = driver.release(architecture=architecture, version="", build_date=None,
                                  url="", checksum_algo="", checksum="")
        template = dataclasses.replace(template, metadata={
            **template.metadata, **{k: newest[k] for k in META_KEYS if k in newest}})
        entries.append(entry(driver, template, [_image_version(i) for i in found],
                             prefix, visibility))
    return entries


def dump(entries, stream):
    """Write one catalog document to ``stream``, its images in shortname order."""
    entries = sorted(entries, key=lambda item: ordering.natural_key(item["shortname"]))
    yaml.dump({"images": entries}, stream, Dumper=_Dumper, sort_keys=False,
              default_flow_style=False, explicit_start=True, allow_unicode=True, width=4096)


def write(directory, family, entries):
    """Atomically replace ``directory/<family>.yml``; return its path.

    Readers see the old file or the new one, never a part; on any error (serialising
    included) the old file is left alone.
    """
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, f"{family}.yml")
    text = io.StringIO()
    dump(entries, text)
    atomic.write(path, text.getvalue().encode("utf-8"), 0o644)
    return path


def remove(directory, family):
    """Remove ``directory/<family>.yml`` if it exists (its family has no images left)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(os.path.join(directory, f"{family}.yml"))


def write_upstream(directory, drivers, prefix, visibility):
    """Write the catalog of upstream's releases; return the written paths and failed drivers.

    A family with a failed driver is not rewritten, so its file never loses entries to a
    passing upstream outage.
    """
    families, failed = {}, []
    for driver in drivers:
        try:
            entries = upstream_entries(driver, prefix, visibility)
        except exceptions.ImgsyncError as exc:
            error = str(exc)
        except Exception as exc:  # a driver bug must not stop the other drivers
            LOG.exception("%s: unexpected error", driver.name)
            error = f"unexpected error: {exc!r}"
        else:
            families.setdefault(driver.family, []).extend(entries)
            continue
        LOG.error("%s: %s; %s.yml is not rewritten", driver.name, error, driver.family)
        failed.append(driver)
    for driver in failed:
        families.pop(driver.family, None)
    paths = [write(directory, family, entries) for family, entries in sorted(families.items())]
    return paths, [driver.name for driver in failed]


def with_mirror(images, objects):
    """``images`` (Glance's), each with the URL of its build's object in the mirror
    (``objects``, read as images) as ``imgsync.mirror_url``, where the mirror holds the
    same build: the same version and architecture, and upstream's same checksum."""
    def where(image):
        return image.get(record.DISTRO), image.get(record.VERSION), image.get("architecture")

    by_build = {where(o): o for o in objects}
    found = []
    for image in images:
        obj = by_build.get(where(image))
        common = set(record.checksums(image)) & set(record.checksums(obj or {}))
        same = common and all(record.checksums(image)[algo] == record.checksums(obj)[algo]
                              for algo in common)
        found.append({**image, record.MIRROR_URL: obj[record.MIRROR_URL]} if same else image)
    return found


def write_images(directory, images, make_driver, names, prefix, visibility):
    """Write the catalog of ``images`` (the finished images imgsync's project has in
    Glance, with ids; or the objects of a mirror-only run, read as images).

    ``make_driver(name)`` returns the configured driver of that name, or None when it
    is not installed; ``names`` are the drivers of this run. A family without any image
    loses its file.
    """
    by_distro = {}
    for image in images:
        by_distro.setdefault(image.get(record.DISTRO), []).append(image)
    families = {}
    for name in sorted(set(by_distro) | set(names)):
        driver = make_driver(name)
        if driver is None:
            LOG.warning("%d images of driver %s, which is not installed, are not in the "
                        "catalog", len(by_distro[name]), name)
            continue
        families.setdefault(driver.family, []).extend(
            glance_entries(driver, by_distro.get(name, []), prefix, visibility))
    paths = []
    for family, entries in sorted(families.items()):
        if entries:
            paths.append(write(directory, family, entries))
        else:
            remove(directory, family)
    return paths
