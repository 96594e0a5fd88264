"""Whether a build is the release imgsync would publish it as, not only bytes upstream signed.

A signature proves that upstream published a file once; a mirror can copy an old, genuinely
signed build under a newer name, or drop a signature. Pure checks, each raising
RefusedBuild, which fails the instance before anything changes in Glance:

- ``fresh``: a build dated in the future, or whose signature was made before the build
  date its version claims, is refused;
- ``consistent``: a build whose bytes imgsync already published under another version or
  architecture of the instance is refused, and so is an unsigned build once the
  instance's images carry ``imgsync.signed_by`` (unless the operator allows it).
"""

import datetime

from imgsync import exceptions
from imgsync import redact

EARLIEST_ZONE = datetime.timedelta(hours=14)
"""A date begins this long before midnight UTC in the earliest time zone (UTC+14)."""
CLOCK_SKEW = datetime.timedelta(minutes=10)
"""How far upstream's clocks and this host's may disagree."""


def refused(release, reason):
    """The RefusedBuild of ``release`` for ``reason``."""
    arch = release.metadata.get("architecture") or "-"
    return exceptions.RefusedBuild(
        f"refused build {release.version} ({arch}) of {release.distro}: {reason}; nothing "
        "of it is published and the images in Glance are left as they are")


def earliest(day):
    """The first instant of ``day`` anywhere on Earth."""
    return datetime.datetime.combine(day, datetime.time(), datetime.timezone.utc) - EARLIEST_ZONE


def fresh(release, now):
    """Raise RefusedBuild when the build's date lies in the future, or when its signature
    was made before the build date that its version claims (a template without a date,
    as the catalog makes, passes)."""
    if release.build_date is None:
        return
    start = earliest(release.build_date)
    if start > now + CLOCK_SKEW:
        raise refused(release, f"its build date {release.build_date} lies in the future "
                               f"(now {now:%Y-%m-%d %H:%M} UTC)")
    if (release.signed_at is not None and release.build_date_from_version
            and release.signed_at < start - CLOCK_SKEW):
        raise refused(release, f"{redact.url(release.checksum_url)} was signed on "
                               f"{release.signed_at:%Y-%m-%d %H:%M} UTC, before the build "
                               f"date {release.build_date} that its version claims: an older "
                               "build published under a newer name")


def consistent(releases, images, allow_unsigned=False):
    """Raise RefusedBuild for the first of ``releases`` that the instance's published
    ``images`` (its own, finished) contradict."""
    signed = next((image for image in images if image.get("imgsync.signed_by")), None)
    for release in releases:
        if release.signed_by is None and signed is not None and not allow_unsigned:
            raise refused(release, (
                f"no valid signature of {redact.url(release.checksum_url)}, although "
                f"imgsync's images of {release.distro} are signed ({_name(signed)}, by "
                f"{signed['imgsync.signed_by']}): a mirror may have removed the signature; "
                f"set [{release.distro}] allow_signature_downgrade = true to accept "
                "unsigned builds"))
        arch = release.metadata.get("architecture")
        for image in images:
            if (image.get(f"imgsync.{release.checksum_algo}") == release.checksum
                    and (image.get("imgsync.version"), image.get("architecture"))
                    != (release.version, arch)):
                raise refused(release, (
                    f"its bytes ({release.checksum_algo} {release.checksum[:16]}...) are "
                    f"those imgsync published as build {image.get('imgsync.version')} "
                    f"({image.get('architecture') or '-'}) in {_name(image)}: an old "
                    "build replayed under a new name"))


def _name(image):
    """``image <id>``, or ``object <name>`` for an object of the mirror read as an image."""
    return f"object {image['object']}" if image.get("object") else f"image {image['id']}"
