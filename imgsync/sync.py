"""One sync run: compare upstream releases with Glance, upload what is missing, rotate."""

import dataclasses
import datetime
import logging

from imgsync import compression
from imgsync import exceptions
from imgsync import glance as glance_mod
from imgsync import inspection
from imgsync import ordering
from imgsync import permissions
from imgsync import proof
from imgsync import redact
from imgsync import stream

LOG = logging.getLogger(__name__)

UPLOADED = "uploaded"
UP_TO_DATE = "up-to-date"
FAILED = "failed"
LOCKED = "locked"
CLEANED = "cleaned"
IN_USE = "kept-in-use"
EXPIRE_ACTIONS = ("none", "hide", "deactivate", "delete")
PAST = {"upload": UPLOADED, "hide": "hidden", "deactivate": "deactivated",
        "delete": "deleted", "clean": CLEANED, "rename": "renamed"}


@dataclasses.dataclass
class Result:
    """What happened to one release or image (or to a whole driver, when it failed early)."""

    distro: str
    action: str
    version: str = "-"
    name: str = ""
    image_id: str = ""
    error: str = ""


@dataclasses.dataclass(frozen=True)
class Settings:
    """The run-wide choices of [DEFAULT]."""

    prefix: str = ""
    visibility: str = "public"
    max_image_size: int = 64 << 30
    upload_method: str = "auto"
    web_download_unverified: bool = False
    pending_grace_period: int = 7200


def image_name(prefix, release):
    """``<prefix><display name> (<version>)``, e.g. ``Ubuntu 24.04 (20240423.1)``."""
    return f"{prefix}{release.display_name} ({release.version})"


def image_properties(release):
    """Glance properties of a release's image: driver metadata plus imgsync's own record."""
    return {
        **release.metadata,
        "source": glance_mod.SOURCE,
        f"imgsync.{release.checksum_algo}": release.checksum,
        "imgsync.distro": release.distro,
        "imgsync.version": release.version,
        "imgsync.url": release.official_url,
        **({"imgsync.mirror_url": release.mirror_url} if release.mirror_url else {}),
        **({"imgsync.signed_by": release.signed_by} if release.signed_by else {}),
        "image_build_date": release.build_date.isoformat(),
    }


def is_pending(image):
    return image.get("imgsync.state") == glance_mod.PENDING


CHECKSUM_ALGOS = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")


def is_synced(image, release):
    """Whether a Glance image is the finished upload of this release (rotated out or not).

    Its recorded checksum must be upstream's. When upstream now publishes another
    algorithm for the same build (a SHA256SUMS beside the MD5SUMS), the image of that
    build id and architecture, which recorded only other algorithms, is the same image.
    """
    if image.get("status") not in ("active", "deactivated") or is_pending(image):
        return False
    recorded = image.get(f"imgsync.{release.checksum_algo}")
    if recorded is not None:
        return recorded == release.checksum
    return (release.version_is_build_id
            and image.get("imgsync.version") == release.version
            and image.get("architecture") == release.metadata.get("architecture")
            and any(f"imgsync.{algo}" in image for algo in CHECKSUM_ALGOS))


class Syncer:
    """Brings one driver's releases into Glance and rotates its old images out."""

    def __init__(self, glance, settings, locks, dry_run=False, in_use=None):
        self.glance = glance
        self.in_use = in_use
        """Optional ``in_use(image_id)``: images servers still use are never expired."""
        self.settings = settings
        self.locks = locks
        self.dry_run = dry_run
        self._import_methods = None
        self._permitted = set()

    def _done(self, action):
        return f"would-{action}" if self.dry_run else PAST[action]

    def sync(self, driver):
        with self.locks.hold(driver.name) as held:
            if not held:
                LOG.warning("%s: another imgsync run holds its lock; skipped", driver.name)
                return [Result(driver.name, LOCKED)]
            releases = driver.releases()
            synced = self.glance.synced_images(driver.name)
            results = self._clean_pending(driver.name, synced)
            planned = []
            for release in releases:
                name = image_name(self.settings.prefix, release)
                existing = next((image for image in synced if is_synced(image, release)), None)
                if existing:
                    LOG.info("%s: %s is up to date (image %s)", driver.name, name,
                             existing["id"])
                    results.append(Result(driver.name, UP_TO_DATE, release.version, name,
                                          existing["id"]))
                elif self.dry_run:
                    planned.append({"imgsync.version": release.version, "name": name,
                                    "architecture": release.metadata.get("architecture")})
                    results.append(Result(driver.name, self._done("upload"), release.version,
                                          name))
                else:
                    image_id = self.upload(release, name, driver.upstream)
                    results.append(Result(driver.name, UPLOADED, release.version, name,
                                          image_id))
            if any(r.action == UPLOADED for r in results):
                synced = self.glance.synced_images(driver.name)
            keep = max(driver.conf.keep_versions, driver.conf.versions)
            expired = self._rotate(driver.name, synced + planned, keep,
                                   driver.conf.expire_action)
            gone = {r.image_id for r in expired if driver.conf.expire_action == "delete"}
            stable = {r.metadata.get("architecture"): self.settings.prefix + r.display_name
                      for r in releases}
            renamed = self._rename(driver.name,
                                   [i for i in synced + planned if i.get("id") not in gone],
                                   stable, driver.conf.latest_name)
            return results + expired + renamed

    def _rename(self, distro, images, stable_names, latest_name):
        """Give images the names the configuration asks for; with ``latest_name`` the newest
        image of each architecture is called just ``<prefix><display name>``.

        Runs after uploads, so a new image takes the stable name only once it is active.
        """
        results = []
        for arch, stable in stable_names.items():
            same_arch = sorted(
                (i for i in images if i.get("architecture") == arch and not is_pending(i)
                 and i.get("status") in ("active", "deactivated", None)),
                key=lambda i: ordering.natural_key(i.get("imgsync.version", "")), reverse=True)
            wanted = [(image, f"{stable} ({image.get('imgsync.version', '-')})")
                      for image in same_arch]
            if latest_name and wanted:
                wanted[0] = (wanted[0][0], stable)
            for image, name in reversed(wanted):   # oldest first: free the stable name first
                if image.get("name") == name or "id" not in image:
                    continue
                LOG.info("%s: rename image %s from %r to %r", distro, image["id"],
                         image["name"], name)
                if not self.dry_run:
                    self.glance.rename(image["id"], name)
                results.append(Result(distro, self._done("rename"),
                                      image.get("imgsync.version", "-"), name, image["id"]))
        return results

    def _clean_pending(self, distro, images):
        """Delete images an interrupted run left pending for longer than the grace period."""
        results = []
        now = datetime.datetime.now(datetime.timezone.utc)
        for image in images:
            if not is_pending(image):
                continue
            started = _started_at(distro, image)
            age = (now - started).total_seconds()
            if age < self.settings.pending_grace_period:
                continue
            LOG.warning("%s: image %s (%s) was left pending by a run started %s",
                        distro, image["id"], image["name"], started.isoformat())
            if not self.dry_run:
                self.glance.delete(image["id"])
            results.append(Result(distro, self._done("clean"), image.get("imgsync.version", "-"),
                                  image["name"], image["id"]))
        return results

    def _rotate(self, distro, images, keep, action):
        """Apply ``action`` to the images of each architecture beyond the newest ``keep``."""
        if action == "none":
            return []
        finished = [i for i in images if not is_pending(i) and i.get("status") != "killed"]
        results = []
        for arch in sorted({i.get("architecture") or "" for i in finished}):
            same_arch = [i for i in finished if (i.get("architecture") or "") == arch]
            same_arch.sort(key=lambda i: ordering.natural_key(i.get("imgsync.version", "")),
                           reverse=True)
            for image in same_arch[keep:]:
                if "id" not in image or _already(image, action):
                    continue
                if self.in_use and self.in_use(image["id"]):
                    LOG.info("%s: image %s (%s) is still used by servers; not %s",
                             distro, image["id"], image["name"], PAST[action])
                    results.append(Result(distro, IN_USE, image.get("imgsync.version", "-"),
                                          image["name"], image["id"]))
                    continue
                LOG.info("%s: %s image %s (%s), older than the newest %d", distro, action,
                         image["id"], image["name"], keep)
                if not self.dry_run:
                    getattr(self.glance, action)(image["id"])
                results.append(Result(distro, self._done(action),
                                      image.get("imgsync.version", "-"), image["name"],
                                      image["id"]))
        return results

    def _upload_method(self, release):
        method = self.settings.upload_method
        if method == "auto":
            if self._import_methods is None:
                self._import_methods = self.glance.import_methods()
            method = "glance-direct" if "glance-direct" in self._import_methods else "put"
        if method == "web-download":
            if redact.has_credentials(release.url):
                raise exceptions.ImgsyncError(
                    f"web-download of {redact.url(release.url)} would hand the mirror's "
                    "credentials to Glance, which keeps the URL in its import task; use "
                    "upload_method = auto")
            if release.compression:
                raise exceptions.ImgsyncError(
                    f"{release.url} is {release.compression}-compressed: Glance's web-download "
                    "cannot decompress it; use upload_method = auto")
            if release.checksum_algo != "sha512" and not self.settings.web_download_unverified:
                raise exceptions.ImgsyncError(
                    f"web-download of {release.url} cannot be verified: upstream publishes "
                    f"{release.checksum_algo}, Glance computes sha512 (set "
                    "web_download_unverified = true to accept)")
        return method

    def _check_permissions(self, release):
        """Once per set of property keys: may this account publish such an image?"""
        properties = image_properties(release)
        key = frozenset(properties)
        if key not in self._permitted:
            permissions.check(self.glance, f"{self.settings.prefix}imgsync permission check",
                              self.settings.visibility, properties)
            self._permitted.add(key)

    def upload(self, release, name, upstream):
        """Bring one release into a new image; delete the image if anything fails."""
        method = self._upload_method(release)
        self._check_permissions(release)
        image_id = self.glance.create(name, release.disk_format, release.min_disk,
                                      release.min_ram, image_properties(release))
        try:
            if method == "web-download":
                self.glance.start_import(image_id, method, uri=release.url)
                image = self.glance.wait_active(image_id, imported=True)
                record = proof.web_download(image, release,
                                            self.settings.web_download_unverified)
                size = image.get("size") or 0
            else:
                with upstream.open(release.url) as (chunks, length):
                    body = self._body(release, chunks, length)
                    self.glance.upload(image_id, body, stage=method == "glance-direct")
                if method == "glance-direct":
                    self.glance.start_import(image_id, method)
                image = self.glance.wait_active(image_id, imported=method == "glance-direct")
                record = proof.stored(image, body.sent(), imported=method == "glance-direct")
                size = body.bytes_read
            self.glance.publish(image_id, self.settings.visibility, record)
        except BaseException:
            LOG.warning("removing unfinished image %s (%s)", image_id, name)
            try:
                self.glance.delete(image_id)
            except exceptions.GlanceError as exc:
                LOG.error("could not remove image %s: %s", image_id, exc)
            raise
        LOG.info("%s: uploaded %s as image %s (%d bytes, %s)",
                 release.distro, name, image_id, size, method)
        return image_id

    def _body(self, release, chunks, length):
        """Upstream's bytes, verified, decompressed where needed, and format-inspected."""
        limit = self.settings.max_image_size
        if release.compression:
            verified = stream.VerifyingStream(chunks, release.url, release.checksum_algo,
                                              release.checksum, length, also=(), max_size=limit)
            data = compression.Decompressing(verified, release.compression, release.url, limit)
        else:
            data = stream.VerifyingStream(chunks, release.url, release.checksum_algo,
                                          release.checksum, length, max_size=limit)
        return inspection.InspectingStream(data, release.url, release.disk_format)


def _already(image, action):
    return ((action == "hide" and image.get("os_hidden"))
            or (action == "deactivate" and image.get("status") == "deactivated"))


def _parse_time(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)


def _started_at(distro, image):
    """When the run that left ``image`` pending started: its ``imgsync.started_at``, or
    Glance's own ``created_at`` when that is missing or malformed (a warning)."""
    recorded = image.get("imgsync.started_at")
    if recorded is not None:
        try:
            return _parse_time(str(recorded))
        except ValueError:
            LOG.warning("%s: image %s has a malformed imgsync.started_at %r; using its "
                        "created_at", distro, image["id"], recorded)
    return _parse_time(image["created_at"])


def run(drivers, syncer):
    """Sync each driver in turn; a failure is reported and the others carry on."""
    results = []
    for driver in drivers:
        try:
            results.extend(syncer.sync(driver))
            continue
        except exceptions.ImgsyncError as exc:
            error = str(exc)
        except Exception as exc:  # a driver bug must not stop the other drivers
            LOG.exception("%s: unexpected error", driver.name)
            error = f"unexpected error: {exc!r}"
        LOG.error("%s: %s", driver.name, error)   # logged outside the handler: one summary
        results.append(Result(driver.name, FAILED, error=error))
    return results
