"""The Sovereign Cloud Stack's image rules, written from the standards' text, to judge what
a cloud's users see (scs-0102 v1 and v2 image metadata, scs-0104 v1 standard images).

Like the official suite, it judges every public or community image that a user lists
(hidden images are not listed) and returns one line per rule broken.
"""

import datetime
import math

GIB = 1 << 30
ARCHITECTURES = ("x86_64", "aarch64", "risc-v")
PURPOSES = ("generic", "oldgeneric", "minimal", "k8snode", "gpu", "network", "custom")
FREQUENCY_DAYS = {"yearly": 365, "quarterly": 92, "monthly": 31, "weekly": 7 * 25 / 24,
                  "daily": 25 / 24, "critical_bug": None, "never": None}
DATE_FORMATS = ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")
STANDARD = {   # scs-0104 v1: name -> the sources its image must come from
    "Ubuntu 24.04": ("https://cloud-images.ubuntu.com/releases/noble/",
                     "https://cloud-images.ubuntu.com/noble/"),
    "Ubuntu 22.04": ("https://cloud-images.ubuntu.com/releases/jammy/",
                     "https://cloud-images.ubuntu.com/jammy/"),
    "Debian 13": ("https://cloud.debian.org/images/cloud/trixie/",
                  "https://cdimage.debian.org/cdimage/cloud/trixie/"),
    "Debian 12": ("https://cloud.debian.org/images/cloud/bookworm/",
                  "https://cdimage.debian.org/cdimage/cloud/bookworm/"),
}


def parse(value, formats=DATE_FORMATS):
    for form in formats:
        try:
            return datetime.datetime.strptime(value, form).replace(
                tzinfo=datetime.timezone.utc)
        except (TypeError, ValueError):
            continue
    return None


def _outdated(image, now):
    days = FREQUENCY_DAYS.get(image.get("replace_frequency"))
    built = parse(image.get("image_build_date")) or parse(image["created_at"])
    if days is None or now <= built + datetime.timedelta(days=1.1 * days):
        return False
    until = image.get("provided_until")
    return until not in ("none", "notice") and (parse(until) is None or now <= parse(until))


def _marked(image):
    last = image["name"].rsplit(" ", 1)[-1]
    return last in ("old", "prev") or parse(last, ("%Y-%m-%d", "%Y%m%d")) is not None


def properties(image, now):
    """The scs-0102 property rules one image breaks."""
    broken = []
    rules = {
        "architecture": image.get("architecture") in ARCHITECTURES,
        "min_disk": bool(image.get("min_disk"))
        and image["min_disk"] * GIB >= (image.get("size") or 0),
        "min_ram": bool(image.get("min_ram")),
        "os_distro": bool(image.get("os_distro")),
        "os_version": bool(image.get("os_version")),
        "os_purpose": image.get("os_purpose") in PURPOSES,
        "hw_disk_bus": image.get("hw_disk_bus") in ("virtio", "scsi", None),
        "hypervisor_type": image.get("hypervisor_type") in ("qemu", "kvm", "xen", "hyper-v",
                                                            "esxi", None),
        "hw_rng_model": image.get("hw_rng_model") in ("virtio", None),
        "image_original_user": bool(image.get("image_original_user")),
        "image_source": image.get("image_source") == "private" or str(
            image.get("image_source")).split("://")[0] in ("http", "https", "ftp", "ftps"),
        "image_description": bool(image.get("image_description")),
        "replace_frequency": image.get("replace_frequency") in FREQUENCY_DAYS,
        "provided_until": image.get("provided_until") in ("none", "notice")
        or parse(image.get("provided_until"), ("%Y-%m-%d",)) is not None,
        "uuid_validity": image.get("uuid_validity") in ("none", "notice", "forever")
        or str(image.get("uuid_validity")).startswith("last-")
        and str(image["uuid_validity"])[5:].isdecimal()
        or parse(image.get("uuid_validity")) is not None,
        "hotfix_hours": str(image.get("hotfix_hours", "")).isdecimal()
        or "hotfix_hours" not in image,
    }
    built = parse(image.get("image_build_date"))
    rules["image_build_date"] = built is not None and built <= parse(image["created_at"]) <= now
    rules["min_disk holds the virtual disk"] = (image.get("min_disk") or 0) >= math.ceil(
        (image.get("virtual_size") or 0) / GIB)
    broken += [f"{image['name']}: {rule}" for rule, ok in rules.items() if not ok]
    return broken


def violations(images, now):
    """Every rule the listed ``images`` break, one line each."""
    broken = [line for image in images for line in properties(image, now)]
    generic = {}
    for image in images:
        if image.get("visibility") == "public" and image.get("os_purpose") == "generic":
            key = (image.get("architecture"), image.get("os_distro"), image.get("os_version"))
            generic.setdefault(key, []).append(image["name"])
    broken += [f"{names}: more than one generic image for {key}"
               for key, names in generic.items() if len(names) > 1]
    by_name = {}
    for image in images:
        if image["name"] in by_name:
            broken.append(f"{image['name']}: two visible images of that name")
        by_name[image["name"]] = image
    for image in images:
        if not _outdated(image, now):
            continue
        replacement = by_name.get(image["name"].rsplit(" ", 1)[0].rstrip())
        if " " not in image["name"] or replacement is None or _outdated(replacement, now):
            broken.append(f"{image['name']}: outdated without a fresh replacement")
        elif not _marked(image):
            broken.append(f"{image['name']}: outdated, neither hidden nor marked")
    for name, sources in STANDARD.items():
        image = by_name.get(name)
        if image is not None and not str(image.get("image_source")).startswith(sources):
            broken.append(f"{name}: image_source {image.get('image_source')} is not "
                          f"upstream's (scs-0104)")
    if "Ubuntu 24.04" not in by_name:
        broken.append("Ubuntu 24.04: missing (scs-0104)")
    return broken
