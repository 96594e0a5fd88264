"""The mirror as a run's target: its store, its uploader, its objects read back as image
records, and the deletion the executor calls (as it calls Glance's)."""

from imgsync.mirror import layout
from imgsync.mirror import upload

NAME = "mirror"
"""The mirror's name in reports, logs and metrics, where a Glance has its region's."""


class Mirror:
    """The object-store mirror of a run (``store``: a SwiftStore or an S3Store)."""

    name = NAME

    def __init__(self, store, keep, public_url=None):
        self.store = store
        self.keep = keep
        self.public_url = public_url.rstrip("/") if public_url else None
        self.uploader = upload.MirrorUploader(store)

    def url(self, key):
        """Where readers fetch the object ``key`` (the catalog's mirror_url)."""
        return f"{self.public_url}/{key}" if self.public_url else self.store.url(key)

    def images(self, distro):
        """The objects imgsync wrote for the instance ``distro``, as image records."""
        found = []
        for key, size, meta in self.store.objects(distro):
            image = layout.image(key, size, meta, self.url(key))
            if image is not None and image.get("imgsync.distro") == distro:
                found.append(image)
        return found

    def delete(self, key):
        self.store.delete(key)
