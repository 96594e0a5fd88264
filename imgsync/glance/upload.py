"""One target's part of an upload: create the image, and after the data, prove and publish.

The image is created private, hidden and pending; it is published only once Glance holds
what was verified (see imgsync.proof), and it is deleted if anything fails. Uploader
holds a target's settings and what it learnt during the run; TargetUpload is one
release's upload into it. Streaming the data, once for every target, is imgsync.fanout's.
"""

import contextlib
import dataclasses
import logging
import time

from imgsync import digests
from imgsync import exceptions
from imgsync import redact
from imgsync.glance import permissions
from imgsync.model import record
from imgsync.model import scs
from imgsync.pipeline import compression
from imgsync.pipeline import inspection
from imgsync.pipeline import progress
from imgsync.pipeline import proof
from imgsync.pipeline import stream

LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Uploaded:
    """What an upload left in Glance."""

    image_id: str
    bytes: int
    method: str
    seconds: float


class Uploader:
    """Uploads releases into one Glance (a target) with the run's settings."""

    def __init__(self, glance, settings):
        self.glance = glance
        self.settings = settings
        self._import_methods = None
        self._permitted = set()
        self._refused = {}

    def method(self, release):
        """The upload method for ``release`` in this Glance (auto asks Glance once)."""
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
            if (release.checksum_algo != digests.GLANCE_DEFAULT
                    and not self.settings.web_download_unverified):
                raise exceptions.ImgsyncError(
                    f"web-download of {release.url} cannot be verified: upstream publishes "
                    f"{release.checksum_algo}, Glance computes sha512 (set "
                    "web_download_unverified = true to accept)")
            if release.disk_format in inspection.NOT_FROM_HEADER:
                raise exceptions.ImgsyncError(
                    f"web-download of {release.url} cannot be format-inspected before it is "
                    f"published: {inspection.NOT_FROM_HEADER[release.disk_format]}; use "
                    "upload_method = auto")
        return method

    def _check_permissions(self, release):
        """Once per set of property keys: may this account publish such an image?
        A refusal is remembered, so later uploads of the run fail without asking again."""
        properties = record.properties(release)
        key = frozenset(properties)
        if key in self._refused:
            raise self._refused[key]
        if key not in self._permitted:
            try:
                permissions.check(self.glance, f"{self.settings.prefix}imgsync permission "
                                  "check", self.settings.visibility, properties)
            except exceptions.ImgsyncError as exc:
                self._refused[key] = exc
                raise
            self._permitted.add(key)

    def begin(self, release, name, image_id, method):
        """The upload of ``release`` by ``method`` (see method()) into a new image."""
        return TargetUpload(self, release, name, self._create(release, name, image_id),
                            method)

    def _create(self, release, name, image_id):
        """A new private, hidden, pending image for ``release`` (after the permission
        check), with ``image_id`` when given (``same_image_id``): imgsync's own reservation
        of that id for this build is taken up again. Glance refusing the id otherwise
        fails the upload: the build never gets another id, so a template naming the id
        cannot boot another project's image that took it."""
        self._check_permissions(release)
        try:
            return self.glance.create(name, release.disk_format, release.min_disk,
                                      release.min_ram, record.properties(release),
                                      image_id=image_id, tags=self.tags(release))
        except exceptions.GlanceError as exc:
            if image_id and exc.status == 409 and self._reserved_for(image_id, release):
                self.glance.patch(image_id, [   # this run's record: the bytes may differ
                    *({"op": "add", "path": f"/{key}", "value": value}
                      for key, value in record.properties(release).items()),
                    {"op": "replace", "path": "/tags", "value": self.tags(release)},
                    {"op": "replace", "path": "/name", "value": name},
                    {"op": "replace", "path": "/imgsync.state", "value": record.PENDING},
                    {"op": "add", "path": "/imgsync.started_at",
                     "value": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
                ], f"take up the reservation {image_id}")
                LOG.info("%s: uploading into image %s, which reserved its id", name, image_id)
                return image_id
            if image_id and exc.status == 409:
                raise exceptions.GlanceError(
                    f"same_image_id: the id {image_id} of {name} is taken in Glance at "
                    f"{self.glance.endpoint()} (by another project's image, or by one deleted "
                    "earlier: Glance never gives an id again); see which image has it, or "
                    "sync this build there without same_image_id", status=409) from exc
            raise

    def tags(self, release):
        """The image's tags: ``os:<os_distro>``, the managed-by tag, the driver's own."""
        distro = release.metadata.get("os_distro")
        return list(dict.fromkeys(
            [*([f"os:{distro}"] if distro else []),
             *([self.settings.managed_by_tag] if self.settings.managed_by_tag else []),
             *release.tags]))

    def _reserved_for(self, image_id, release):
        """Whether ``image_id`` is imgsync's own empty reservation of ``release``."""
        try:
            image = self.glance.get(image_id)
        except exceptions.GlanceError:
            return False   # deleted, or another project's: taken
        return (image.get("owner") == self.glance.project_id()
                and image.get("imgsync.state") == record.RESERVED
                and image.get("status") == "queued"
                and (image.get("imgsync.distro"), image.get("imgsync.version"),
                     image.get("architecture"))
                == (release.distro, release.version, release.metadata.get("architecture")))


class TargetUpload:
    """One release's upload into one target, from its image's creation (Uploader.begin)
    to its publication or its removal: what imgsync.fanout drives in each target."""

    def __init__(self, uploader, release, name, image_id, method):
        self.glance = uploader.glance
        self.settings = uploader.settings
        self.release = release
        self.name = name
        self.image_id = image_id
        self.method = method

    def send(self, body):
        """Send the image's data, to the image itself or to its staging area."""
        self.glance.upload(self.image_id, body, stage=self.method == "glance-direct")

    def finish(self, sent):
        """After the data was sent: import it, wait for it, prove it and publish it, with a
        min_disk that holds the image as Glance stored it (converted or not)."""
        imported = self.method == "glance-direct"
        if imported:
            self.glance.start_import(self.image_id, self.method)
        image = self.glance.wait_active(self.image_id, imported=imported)
        record = proof.stored(image, sent, imported=imported)
        self.glance.publish(self.image_id, self.settings.visibility, record,
                            min_disk=scs.min_disk(self.release.min_disk, image.get("size"),
                                                  image.get("virtual_size"),
                                                  sent.virtual_size))

    def web_download(self):
        """Let Glance fetch the release itself; publish it only as imgsync.proof allows,
        and once the head of what Glance stored passed the format inspection: the size
        Glance stored."""
        release = self.release
        with self.aborting():
            self.glance.start_import(self.image_id, "web-download", uri=release.url)
            image = self.glance.wait_active(self.image_id, imported=True)
            record = proof.web_download(image, release, self.settings.web_download_unverified)
            record = {**record, **self._inspect_head(image)}
            self.glance.publish(self.image_id, self.settings.visibility, record,
                                min_disk=scs.min_disk(release.min_disk, image.get("size"),
                                                      image.get("virtual_size")))
        return image.get("size") or 0

    def _inspect_head(self, image):
        """imgsync never saw the data Glance fetched: read back its head and inspect it,
        as the disk format Glance records (the release's, or that of Glance's conversion),
        while the image is still private, hidden and pending."""
        release = self.release
        size, stored_format = image.get("size") or 0, image.get("disk_format")
        head = self.glance.read_head(image["id"], inspection.HEADER_BYTES)
        wanted = min(size, inspection.HEADER_BYTES)
        if len(head) != wanted:
            raise exceptions.GlanceError(
                f"Glance sent {len(head)} bytes of image {image['id']} where the first "
                f"{wanted} of its {size} were asked for (GET /v2/images/{image['id']}/file)")
        inspection.check_header(head, wanted == size, stored_format,
                                f"web-download of {release.url} into image {image['id']}")
        LOG.info("image %s: its first %d bytes are %s and pass the safety checks",
                 image["id"], wanted, stored_format)
        converted = ({"imgsync.converted_from": release.disk_format}
                     if stored_format != release.disk_format else {})
        return {"imgsync.inspected": "header", **converted}

    @contextlib.contextmanager
    def aborting(self):
        """Abort the upload if the block fails in any way (outside the handler, so the
        log does not repeat the error)."""
        try:
            yield
        except BaseException as exc:
            failure = exc
        else:
            return
        self.abort()
        raise failure

    def abort(self):
        """Delete the unfinished image; with ``same_image_id``, keep one that holds no data
        (queued) as the reservation of its id instead: Glance never gives a deleted
        image's id again, and nobody else can create an image under a reserved id."""
        if self.settings.same_image_id and self._reserve():
            return
        LOG.warning("removing unfinished image %s (%s)", self.image_id, self.name)
        try:
            self.glance.delete(self.image_id)
        except exceptions.GlanceError as exc:
            LOG.error("could not remove image %s: %s", self.image_id, exc)

    def _reserve(self):
        try:
            if self.glance.get(self.image_id).get("status") != "queued":
                return False
            self.glance.patch(self.image_id, [
                {"op": "replace", "path": "/imgsync.state", "value": record.RESERVED}],
                f"keep image {self.image_id} as a reservation")
        except exceptions.GlanceError as exc:
            LOG.error("could not keep image %s as a reservation: %s", self.image_id, exc)
            return False
        LOG.warning("keeping unfinished image %s (%s), empty and private, as the reservation "
                    "of its id (same_image_id)", self.image_id, self.name)
        return True

def body(release, chunks, length, max_size):
    """Upstream's bytes, verified, decompressed where needed, and format-inspected (their
    progress shown on a terminal, logged elsewhere)."""
    chunks = progress.track(chunks, length, f"{release.distro} {release.version} "
                            f"{release.metadata.get('architecture') or ''}".strip(), LOG)
    if release.compression:
        verified = stream.VerifyingStream(chunks, release.url, release.checksum_algo,
                                          release.checksum, length, also=(), max_size=max_size)
        data = compression.Decompressing(verified, release.compression, release.url, max_size,
                                         command=compression.parallel_command(
                                             release.compression))
    else:
        data = stream.VerifyingStream(chunks, release.url, release.checksum_algo,
                                      release.checksum, length, max_size=max_size)
    return inspection.InspectingStream(data, release.url, release.disk_format)
