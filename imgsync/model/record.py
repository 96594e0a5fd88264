"""imgsync's image record in Glance: the properties it gives an image, how they read back,
what they say of the image's state, and the kinds of action a plan takes on images.

Pure (no client, no network): the planner, the catalog, the metrics and ``status`` read
images through it, and the uploader writes the record it defines.
"""

import datetime
import enum

from imgsync import digests
from imgsync.model import scs

SOURCE = "imgsync"
"""``source`` of every image imgsync made."""
PENDING = "pending"
"""``imgsync.state`` of an image not yet verified and published."""
RESERVED = "reserved"
"""``imgsync.state`` of an empty record kept for its id (``same_image_id``)."""

DISTRO, VERSION, URL = "imgsync.distro", "imgsync.version", "imgsync.url"
MIRROR_URL, SIGNED_BY, SIGNED_AT = "imgsync.mirror_url", "imgsync.signed_by", "imgsync.signed_at"
STATE, STARTED_AT = "imgsync.state", "imgsync.started_at"
"""An unfinished image's state (publishing removes it) and when its upload started."""
CHECKSUM_ALGOS = digests.ALGORITHMS
"""The algorithms whose checksum an image may record (``imgsync.<algo>``), strongest first."""


class Kind(str, enum.Enum):
    """What an action does; its value is the word reports, JSON and metrics print."""

    UPLOAD = "upload"
    HIDE = "hide"
    DEACTIVATE = "deactivate"
    DELETE = "delete"
    CLEAN = "clean"
    """Delete an image an interrupted run left pending, or a reservation no longer needed."""
    RENAME = "rename"
    RETIRE = "retire"
    """Give a superseded ``generic`` image that stays visible ``os_purpose = oldgeneric``."""
    UP_TO_DATE = "up-to-date"
    IN_USE = "in-use"

    def __str__(self):
        return self.value

    __format__ = str.__format__


EXPIRES = (Kind.HIDE, Kind.DEACTIVATE, Kind.DELETE)
"""Kinds that rotate an old image out (``expire_action``)."""
INFORMATIVE = (Kind.UP_TO_DATE, Kind.IN_USE)
"""Kinds that report a state and change nothing."""


def checksum_key(algo):
    return f"imgsync.{algo}"


def properties(release, now=None):
    """Glance properties of a release's image: driver metadata (with the SCS record) plus
    imgsync's own record."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return {
        **release.metadata,
        "image_source": release.official_url,
        "source": SOURCE,
        checksum_key(release.checksum_algo): release.checksum,
        DISTRO: release.distro,
        VERSION: release.version,
        URL: release.official_url,
        **({MIRROR_URL: release.mirror_url} if release.mirror_url else {}),
        **({SIGNED_BY: release.signed_by} if release.signed_by else {}),
        **({SIGNED_AT: release.signed_at.strftime("%Y-%m-%dT%H:%M:%SZ")}
           if release.signed_at else {}),
        "image_build_date": scs.build_date(release.build_date, now),
    }


def checksums(image):
    """The checksums an image recorded, ``{algo: hex}``, strongest first."""
    return {algo: image[checksum_key(algo)] for algo in CHECKSUM_ALGOS
            if checksum_key(algo) in image}


def is_pending(image):
    return image.get(STATE) == PENDING


def is_reserved(image):
    return image.get(STATE) == RESERVED


def is_deactivated(image):
    return image.get("status") == "deactivated"


def is_hidden(image):
    return bool(image.get("os_hidden"))


def is_finished(image):
    """A published image: active, or deactivated by an earlier rotation, and without an
    ``imgsync.state`` (publishing removes it)."""
    return image.get("status") in ("active", "deactivated") and STATE not in image


def is_usable(image):
    """A finished image new servers can boot from: not deactivated (hidden is fine)."""
    return is_finished(image) and not is_deactivated(image)


def is_synced(image, release):
    """Whether a Glance image is the finished upload of this release (rotated out or not).

    Its recorded checksum must be upstream's. When upstream now publishes another
    algorithm for the same build (a SHA256SUMS beside the MD5SUMS), the image of that
    build id and architecture, which recorded only other algorithms, is the same image.
    """
    if not is_finished(image):
        return False
    recorded = image.get(checksum_key(release.checksum_algo))
    if recorded is not None:
        return recorded == release.checksum
    return (release.version_is_build_id
            and image.get(VERSION) == release.version
            and image.get("architecture") == release.metadata.get("architecture")
            and bool(checksums(image)))


def state(image):
    """The state an image is counted under in the metrics (``imgsync_images``)."""
    if is_pending(image):
        return "pending"
    if is_deactivated(image):
        return "deactivated"
    if is_hidden(image):
        return "hidden"
    return image.get("status", "unknown")
