"""The mirror in OpenStack Swift, through openstacksdk's object-store proxy.

An object is a static large object: its segments (``part_size`` each, streamed
with chunked framing, never held in memory) are written under ``.imgsync-segments/``
of the same container (so that a public container's readers can read them too), and
the manifest, with the object's metadata, is written under the final name only once
the bytes were verified. Until then no object exists under that name; an aborted
upload deletes its segments.
"""

import json
import logging
import urllib.parse
import uuid

import openstack
from keystoneauth1 import exceptions as ks_exceptions
from openstack import exceptions as sdk_exceptions

from imgsync import exceptions
from imgsync.glance import client as glance_client

LOG = logging.getLogger(__name__)
SEGMENTS = ".imgsync-segments"
MAX_SEGMENTS = 1000
"""Swift's default max_manifest_segments."""
META = "x-object-meta-"
_PAGE = 1000
_ERRORS = (ks_exceptions.ClientException, sdk_exceptions.SDKException, OSError)


def connect(conf):
    """openstacksdk's object-store proxy for [mirror]: through a clouds.yaml entry ([mirror]
    cloud, else [glance] cloud) or [keystone_auth], in [mirror] region_name (else
    [glance] region_name), with [mirror] timeout; Keystone is asked now."""
    cloud = conf.mirror.cloud or conf.glance.cloud
    region = conf.mirror.region_name or conf.glance.region_name
    if not cloud and not conf.keystone_auth.auth_type:
        raise exceptions.ConfigError(
            "[mirror] store = swift needs credentials: set [mirror] cloud, [glance] cloud "
            "or the [keystone_auth] group")
    try:
        if cloud:
            connection = openstack.connect(cloud=cloud, region_name=region, app_name="imgsync",
                                           api_timeout=conf.mirror.timeout)
        else:
            session = glance_client.keystone_session(conf)
            session.timeout = conf.mirror.timeout
            connection = openstack.connection.Connection(
                session=session, region_name=region, app_name="imgsync")
        connection.authorize()
        return connection.object_store
    except sdk_exceptions.ConfigException as exc:
        raise exceptions.ConfigError(f"[mirror] cloud: {exc}") from exc
    except ks_exceptions.auth_plugins.AuthPluginException as exc:
        raise exceptions.ConfigError(f"[keystone_auth]: {exc}") from exc
    except _ERRORS as exc:
        raise exceptions.MirrorError(
            f"cannot authenticate with Keystone for the mirror's Swift: {exc}") from exc


class SwiftStore:
    """One container of a Swift account (``proxy``: openstacksdk's object_store)."""

    kind = "swift"

    def __init__(self, proxy, container, part_size, public_read=False):
        self.proxy = proxy
        self.container = container
        self.part_size = part_size
        self.public_read = public_read

    def endpoint(self):
        return self._call(self.proxy.get_endpoint, "find the object-store endpoint")

    def url(self, key):
        """The object's URL, as the account's endpoint names it."""
        return f"{self.endpoint().rstrip('/')}/{self._path(key)}"

    def ensure(self):
        """Create the container unless it exists (readable by anyone with public_read)."""
        if self._request("HEAD", self._path(), "look at the container",
                         ok=(200, 204, 404)) == 404:
            headers = {"X-Container-Read": ".r:*,.rlistings"} if self.public_read else {}
            self._request("PUT", self._path(), "create the container", headers=headers)
            LOG.info("created container %s%s", self.container,
                     " (public read)" if self.public_read else "")

    def objects(self, prefix):
        """[(name, size, metadata)] of the objects whose names start with ``prefix``."""
        found, marker = [], ""
        while True:
            response = self._response("GET", self._path(), "list the container", params={
                "prefix": prefix, "format": "json", "limit": _PAGE, "marker": marker})
            page = response.json()
            for item in page:
                head = self._response("HEAD", self._path(item["name"]),
                                      f"read {item['name']}", ok=(200, 404))
                if head.status_code == 200:
                    found.append((item["name"], int(head.headers.get("Content-Length", 0)),
                                  {k[len(META):].lower(): v for k, v in head.headers.items()
                                   if k.lower().startswith(META)}))
            if not page:   # a cluster may answer fewer than _PAGE names a page
                return found
            marker = page[-1]["name"]

    def begin(self, key, metadata):
        return SwiftUpload(self, key)

    def delete(self, key):
        """Delete the object with its segments (a missing one is gone already). Swift
        answers a manifest's deletion with 200 and the outcome in the body."""
        response = self._response("DELETE", self._path(key), f"delete {key}",
                                  ok=(200, 204, 404), params={"multipart-manifest": "delete"},
                                  headers={"Accept": "application/json"})
        if response.status_code != 200:
            return
        outcome = response.json()
        if not outcome.get("Response Status", "").startswith("200") or outcome.get("Errors"):
            raise exceptions.MirrorError(
                f"Swift could not delete {key} with its segments (container "
                f"{self.container}): {outcome.get('Response Status')} "
                f"{str(outcome.get('Errors'))[:200]}")

    def segments(self, key):
        """The segment names of the static large object ``key`` (none if it is missing)."""
        response = self._response("GET", self._path(key), f"read the manifest of {key}",
                                  ok=(200, 404), params={"multipart-manifest": "get",
                                                         "format": "raw"})
        if response.status_code == 404 or response.headers.get(
                "X-Static-Large-Object", "").lower() != "true":
            return []
        return [item["path"].split("/", 2)[2] for item in response.json()]

    def _path(self, key=""):
        return urllib.parse.quote(f"{self.container}/{key}" if key else self.container)

    def _request(self, method, path, what, ok=(200, 201, 202, 204), **kwargs):
        return self._response(method, path, what, ok, **kwargs).status_code

    def _response(self, method, path, what, ok=(200, 201, 202, 204), **kwargs):
        response = self._call(self.proxy.request, what, path, method, raise_exc=False,
                              **kwargs)
        if response.status_code not in ok:
            raise exceptions.MirrorError(
                f"Swift refused to {what} ({method} {urllib.parse.unquote(path)} in container "
                f"{self.container}): HTTP {response.status_code} {response.text[:200]!r}")
        return response

    @staticmethod
    def _call(func, what, *args, **kwargs):
        try:
            return func(*args, **kwargs)
        except exceptions.ImgsyncError:
            raise
        except _ERRORS as exc:
            raise exceptions.MirrorError(f"cannot {what} in Swift: {exc}") from exc


class SwiftUpload:
    """One object's segments, then its manifest."""

    def __init__(self, store, key):
        self.store = store
        self.key = key
        self.prefix = f"{SEGMENTS}/{key}/{uuid.uuid4()}"
        self.segments = []
        self.removed = 0
        """How many of ``segments`` an abort removed."""

    def part(self, chunks):
        """Stream one segment. It is counted once its PUT ended, well or not (Swift may
        have stored it): an abort meanwhile does not see it, the next one removes it."""
        name = f"{self.prefix}/{len(self.segments):08d}"
        segment = {"path": f"/{self.store.container}/{name}"}
        counted = _Counted(chunks)
        try:
            response = self.store._response("PUT", self.store._path(name),
                                            f"write a segment of {self.key}",
                                            data=iter(counted), connect_retries=0,
                                            status_code_retries=0)   # a stream, sent once
            segment.update(etag=response.headers.get("Etag", "").strip('"') or None,
                           size_bytes=counted.size)
        finally:
            self.segments.append(segment)

    def complete(self, metadata):
        """Write the manifest, with ``metadata``: the object appears under its name. The
        segments of an object it replaces (upstream rebuilt the version) are removed."""
        replaced = self.store.segments(self.key)
        headers = {f"X-Object-Meta-{name}": value for name, value in metadata.items()}
        self.store._request("PUT", self.store._path(self.key), f"write the manifest of "
                            f"{self.key}", params={"multipart-manifest": "put"},
                            headers={**headers, "Content-Type": "application/json"},
                            data=json.dumps(self.segments))
        self._remove([name for name in replaced if name.startswith(f"{SEGMENTS}/")])

    def abort(self):
        """Remove the segments written since the last abort."""
        written = self.segments[self.removed:]
        self.removed = len(self.segments)
        self._remove([segment["path"].split("/", 2)[2] for segment in written])

    def _remove(self, names):
        for name in names:
            try:
                self.store._request("DELETE", self.store._path(name), f"delete {name}",
                                    ok=(200, 204, 404))
            except exceptions.MirrorError as exc:
                LOG.error("could not remove the segment %s: %s", name, exc)


class _Counted:
    """Chunks, counting their bytes as they pass."""

    def __init__(self, chunks):
        self.chunks, self.size = chunks, 0

    def __iter__(self):
        for chunk in self.chunks:
            self.size += len(chunk)
            yield chunk
