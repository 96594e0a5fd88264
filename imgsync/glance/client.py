"""Glance, through openstacksdk: find what imgsync synced, upload, verify and publish."""

import logging
import re
import threading
import time
import urllib.parse

import openstack
import requests
from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import loading as ks_loading
from openstack import exceptions as sdk_exceptions

from imgsync import conf as imgsync_conf
from imgsync import exceptions
from imgsync.model import record

LOG = logging.getLogger(__name__)
_PAGE = 100
_PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
_TRANSIENT = (409, 500, 502, 503, 504)
_RETRIES = 5
"""Retries of an idempotent call: about 30 s in all with the default poll interval."""
_READ_CHUNK = 64 * 1024


def _json(response, what, key=None):
    """A Glance answer's JSON object (that has ``key``), or a GlanceError saying what came."""
    try:
        document = response.json()
    except ValueError:
        document = None
    if not isinstance(document, dict) or (key and key not in document):
        raise exceptions.GlanceError(
            f"Glance's answer to {what} is not what Glance sends: "
            f"{explanation(response.text)[:120]!r}")
    return document


def explanation(body):
    """Glance's error page as one short line: tags and the repeated title dropped. Only
    the body's first 4 KiB are read: the regexes below are not linear in what they read."""
    text = " ".join(re.sub(r"<[^>]*>", " ", body[:4096]).split())
    title = re.match(r"(\d{3} [A-Za-z -]+?) \1\b", text)
    if title:
        text = text[len(title.group(1)):].strip()
    return text[:300]


def keystone_session(conf):
    """A keystoneauth1 Session from the ``[keystone_auth]`` group; the targets of
    ``[glance] region_names`` share it, and with it one token."""
    if not conf.keystone_auth.auth_type:
        raise exceptions.ConfigError(
            "no Glance credentials: set [glance] cloud or the [keystone_auth] group "
            "(auth_type, auth_url, username, password, ...)")
    try:
        auth = ks_loading.load_auth_from_conf_options(conf, imgsync_conf.KEYSTONE_AUTH_GROUP)
        session = ks_loading.load_session_from_conf_options(
            conf, imgsync_conf.KEYSTONE_AUTH_GROUP, auth=auth)
    except ks_exceptions.auth_plugins.AuthPluginException as exc:
        raise exceptions.ConfigError(f"[keystone_auth]: {exc}") from exc
    if session.timeout is None:
        session.timeout = conf.glance.api_timeout
    return session


def connect(conf, compute=False, cloud=None, region=None, session=None):
    """An openstacksdk Connection from a clouds.yaml entry (``cloud``, else ``[glance]
    cloud``) or from ``session`` (else a new ``keystone_session``), to ``region``: else
    ``cloud``'s own region, or ``[glance] region_name``.

    ``compute`` also enables Nova (``[nova]`` adapter options) for the in-use check.
    """
    if not cloud:   # an entry of [glance] clouds has its own region, in clouds.yaml
        cloud, region = conf.glance.cloud, region or conf.glance.region_name
    try:
        if cloud:
            return openstack.connect(cloud=cloud, region_name=region,
                                     app_name="imgsync", api_timeout=conf.glance.api_timeout)
        session = session or keystone_session(conf)
        groups = (imgsync_conf.GLANCE_GROUP, imgsync_conf.NOVA_GROUP) if region else ()
        for group in groups:   # openstacksdk reads the regions from there, once
            conf.set_override("region_name", region, group=group)
        try:
            return openstack.connection.Connection(
                session=session, oslo_conf=conf, app_name="imgsync",
                service_types={"image", "compute"} if compute else {"image"})
        finally:
            for group in groups:
                conf.clear_override("region_name", group=group)
    except sdk_exceptions.ConfigException as exc:
        raise exceptions.ConfigError(f"[glance] cloud: {exc}") from exc
    except ks_exceptions.auth_plugins.AuthPluginException as exc:
        raise exceptions.ConfigError(f"[keystone_auth]: {exc}") from exc
    except (ks_exceptions.ClientException, sdk_exceptions.SDKException) as exc:
        raise exceptions.GlanceError(f"cannot set up the connection to Keystone: {exc}") from exc


def image_proxy(connection):
    """openstacksdk's image proxy, with what it needs checked now, in order, so that the
    error says which failed: Keystone (authentication and its catalog), then Glance (its
    endpoint in the catalog, and the endpoint itself)."""
    try:
        connection.authorize()
    except (ks_exceptions.ClientException, sdk_exceptions.SDKException) as exc:
        raise exceptions.GlanceError(
            f"cannot authenticate with Keystone{_at(connection)}: {exc}") from exc
    url = None
    try:
        url = connection.endpoint_for("image")
        if not url:
            config = connection.config
            region = config.get_region_name("image")
            raise exceptions.GlanceError(
                f"no Glance: Keystone's catalog{_at(connection)} has no "
                f"{config.get_interface('image')} image endpoint"
                f"{f' in region {region}' if region else ''}")
        proxy = connection.image
        proxy.get_endpoint()   # Glance's version discovery, unless its endpoint is given
        return proxy
    except (ks_exceptions.ClientException, sdk_exceptions.SDKException) as exc:
        raise exceptions.GlanceError(
            f"cannot reach Glance{f' at {url}' if url else ''}: {exc}") from exc


def _at(connection):
    """`` at <Keystone's URL>``, when the connection's authentication has one."""
    url = getattr(connection.session.auth, "auth_url", None)
    return f" at {url}" if url else ""


def _in_background(func, *args):
    """Start ``func(*args)`` in a daemon thread (here, when no thread can be had); return a
    callable that waits for its result or raises its error. For reads only: an
    interruption leaves the thread to end with the process."""
    done, outcome = threading.Event(), {}

    def run():
        try:
            outcome["result"] = func(*args)
        except BaseException as exc:  # handed to the caller, who raises it
            outcome["error"] = exc
        finally:
            done.set()

    try:
        threading.Thread(target=run, name="imgsync-list", daemon=True).start()
    except RuntimeError:   # can't start new thread
        run()

    def result():
        done.wait()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["result"]
    return result


class Glance:
    """The few Glance v2 calls imgsync makes, each checked and with errors that say what failed."""

    def __init__(self, proxy, active_timeout=600, poll_interval=1.0):
        self.proxy = proxy
        self.active_timeout = active_timeout
        self.poll_interval = poll_interval
        self.foreign = {}
        """Images of other projects that carry imgsync's properties: id to owner."""
        self._project_id = None

    def _request(self, method, path, what, retries=0, **kwargs):
        """One checked call; ``retries`` repeats it, with a growing pause, on answers
        that a busy or briefly failing Glance gives (409, 5xx). Only for idempotent calls."""
        for attempt in range(retries + 1):
            try:
                response = self.proxy.request(path, method, **kwargs)
            except (ks_exceptions.ClientException, sdk_exceptions.SDKException) as exc:
                raise exceptions.GlanceError(
                    f"cannot {what}: Glance did not answer: {exc}") from exc
            if response.status_code < 400:
                return response
            quota = " (over a quota)" if response.status_code == 413 else ""
            error = exceptions.GlanceError(
                f"Glance refused to {what}: HTTP {response.status_code}{quota}: "
                f"{explanation(response.text)}", status=response.status_code)
            if response.status_code not in _TRANSIENT or attempt == retries:
                raise error
            LOG.debug("retrying: %s", error)
            time.sleep(self.poll_interval * 2 ** attempt)

    def endpoint(self):
        """Glance's URL from the catalog (this authenticates, so it checks the credentials)."""
        try:
            return self.proxy.get_endpoint()
        except (ks_exceptions.ClientException, sdk_exceptions.SDKException) as exc:
            raise exceptions.GlanceError(f"cannot reach Glance: {exc}") from exc

    def images(self, **filters):
        """Every image matching the property filters, hidden ones included: a list.

        Glance lists hidden images only when asked for them alone: that listing goes on
        in a thread meanwhile (each Glance worker validates a new token once: they do it
        together)."""
        hidden = _in_background(self._listing, "true", filters)
        return self._listing("false", filters) + hidden()

    def _listing(self, hidden, filters):
        query = {"visibility": "all", "os_hidden": hidden, "limit": _PAGE, **filters}
        path, images = "/images?" + urllib.parse.urlencode(query), []
        while path:
            page = _json(self._request("GET", path, "list images", retries=_RETRIES),
                         "list images", "images")
            images += page["images"]
            path = page.get("next")
            if path:
                path = path[path.index("/images"):]
        return images

    def project_id(self):
        """The project of imgsync's token: the only owner whose images imgsync trusts."""
        if self._project_id is None:
            try:
                self._project_id = self.proxy.get_project_id()
            except (ks_exceptions.ClientException, sdk_exceptions.SDKException) as exc:
                raise exceptions.GlanceError(
                    f"cannot ask Keystone for imgsync's project: {exc}") from exc
            if not self._project_id:
                raise exceptions.ConfigError(
                    "imgsync's credentials are not scoped to a project: set a project "
                    "(project_name or project_id) for the account imgsync uses")
        return self._project_id

    def synced_images(self, distro=None):
        """imgsync's images (of one driver) owned by its own project.

        Anybody may set ``source=imgsync`` on an image of their own: images of other
        projects are never trusted, and are noted in ``foreign`` instead.
        """
        filters = {"source": record.SOURCE, **({"imgsync.distro": distro} if distro else {})}
        project, own = self.project_id(), []
        for image in self.images(**filters):
            if image.get("owner") == project:
                own.append(image)
            else:
                self.foreign[image["id"]] = image.get("owner")
        return own

    def create(self, name, disk_format, min_disk, min_ram, properties, image_id=None,
               tags=()):
        """Create a private, hidden image record marked pending (with ``image_id`` and
        ``tags`` when given); return its id."""
        body = {
            **({"id": image_id} if image_id else {}),
            **({"tags": list(tags)} if tags else {}),
            **properties,
            "name": name, "disk_format": disk_format, "container_format": "bare",
            "visibility": "private", "os_hidden": True,
            "min_disk": min_disk, "min_ram": min_ram,
            "imgsync.state": record.PENDING,
            "imgsync.started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        image = _json(self._request("POST", "/images", f"create image {name!r}", json=body),
                      f"create image {name!r}", "id")
        LOG.info("created image %s (%s)", image["id"], name)
        return image["id"]

    def import_methods(self):
        """The interoperable import methods this Glance offers."""
        info = _json(self._request("GET", "/info/import", "list its import methods"),
                     "list its import methods")
        return info.get("import-methods", {}).get("value", [])

    def upload(self, image_id, body, stage=False):
        """Send the image data, to the image itself (``PUT /file``) or to its staging area.

        ``body`` is an iterable, with len() when its size is known.
        """
        target = "stage" if stage else "file"
        self._request("PUT", f"/images/{image_id}/{target}",
                      f"{'stage' if stage else 'store'} the data of image {image_id} "
                      f"(PUT /v2/images/{image_id}/{target})",
                      data=body, connect_retries=0, status_code_retries=0,
                      retriable_status_codes=[], allow_reauth=False,
                      headers={"Content-Type": "application/octet-stream"})

    def start_import(self, image_id, method, uri=None):
        """Ask Glance to import staged data (glance-direct) or to fetch ``uri`` (web-download)."""
        body = {"method": {"name": method, **({"uri": uri} if uri else {})}}
        self._request("POST", f"/images/{image_id}/import",
                      f"import image {image_id} with {method}", json=body)

    def get(self, image_id):
        what = f"show image {image_id}"
        return _json(self._request("GET", f"/images/{image_id}", what, retries=_RETRIES),
                     what, "status")

    def read_head(self, image_id, length):
        """The first ``length`` bytes of an image's data (all of it if shorter), asked for
        with a Range; a Glance that sends the whole data instead is read only that far."""
        what = (f"read the first {length} bytes of image {image_id} "
                f"(GET /v2/images/{image_id}/file)")
        response = self._request("GET", f"/images/{image_id}/file", what, retries=_RETRIES,
                                 stream=True, headers={"Range": f"bytes=0-{length - 1}"})
        try:
            if response.status_code == 206 and not response.headers.get(
                    "Content-Range", "").startswith("bytes 0-"):
                raise exceptions.GlanceError(
                    f"cannot {what}: Glance sent another range: "
                    f"{response.headers.get('Content-Range')!r}")
            head = bytearray()
            for chunk in response.iter_content(min(length, _READ_CHUNK)):
                head += chunk[:length - len(head)]
                if len(head) == length:
                    break
            return bytes(head)
        except requests.RequestException as exc:
            raise exceptions.GlanceError(f"cannot {what}: the data broke off: {exc}") from exc
        finally:
            response.close()

    def wait_active(self, image_id, imported=False):
        """Poll until the image is active; fail on any other final state or a time-out.

        After an import (``imported``) also wait for Glance's import task to drop its
        lock (``os_glance_import_task``): until then the task may still save the image
        as it read it, and would undo a change made in between, e.g. its publication.
        """
        deadline = time.monotonic() + self.active_timeout
        pause = self.poll_interval / 8   # doubling up to poll_interval: a quick import is
        # seen within an eighth of a second, a long one costs a GET a second
        while True:
            image = self.get(image_id)
            if image["status"] == "active" and not (imported
                                                    and image.get("os_glance_import_task")):
                return image
            if image.get("os_glance_failed_import"):
                raise exceptions.GlanceError(
                    f"Glance's import of image {image_id} failed (stores: "
                    f"{image['os_glance_failed_import']}); see the glance-api log")
            if image["status"] in ("killed", "deleted", "pending_delete", "deactivated"):
                raise exceptions.GlanceError(f"image {image_id} ended {image['status']}")
            if time.monotonic() > deadline:
                raise exceptions.GlanceError(
                    f"image {image_id} still {image['status']} after {self.active_timeout} s")
            time.sleep(pause)
            pause = min(pause * 2, self.poll_interval)

    def publish(self, image_id, visibility, record=None, min_disk=None):
        """Give a verified image its final visibility, show it in listings and add
        ``record``, the properties that say how it was verified (and ``min_disk``, once
        the stored size is known)."""
        ops = [
            *({"op": "add", "path": f"/{key}", "value": value}
              for key, value in (record or {}).items()),
            *([{"op": "replace", "path": "/min_disk", "value": min_disk}] if min_disk else []),
            {"op": "replace", "path": "/visibility", "value": visibility},
            {"op": "replace", "path": "/os_hidden", "value": False},
            {"op": "remove", "path": "/imgsync.state"},
            {"op": "remove", "path": "/imgsync.started_at"},
        ]
        try:
            self.patch(image_id, ops, f"publish image {image_id}")
        except exceptions.GlanceError:
            # a retried PATCH whose first try was applied gets 409 for its removes
            image = self.get(image_id)
            if (image.get("visibility") != visibility or image.get("os_hidden")
                    or "imgsync.state" in image
                    or any(image.get(key) != value for key, value in (record or {}).items())):
                raise
            LOG.info("image %s was published by an earlier try of the request", image_id)

    def patch(self, image_id, ops, what):
        """Apply JSON-patch ``ops`` to an image (retried on transient answers)."""
        self._request("PATCH", f"/images/{image_id}", what, retries=_RETRIES, json=ops,
                      headers=_PATCH)

    def rename(self, image_id, name):
        self.patch(image_id, [{"op": "replace", "path": "/name", "value": name}],
                   f"rename image {image_id}")

    def retire(self, image_id):
        """A superseded generic image that stays visible: ``os_purpose = oldgeneric``."""
        self.patch(image_id, [{"op": "add", "path": "/os_purpose", "value": "oldgeneric"}],
                   f"mark image {image_id} oldgeneric")

    def hide(self, image_id):
        """Leave default listings; existing users keep booting from the image."""
        self.patch(image_id, [{"op": "replace", "path": "/os_hidden", "value": True}],
                   f"hide image {image_id}")

    def deactivate(self, image_id):
        """Make the image unusable for new servers (Glance's ``deactivate`` policy)."""
        self._request("POST", f"/images/{image_id}/actions/deactivate",
                      f"deactivate image {image_id}", retries=_RETRIES)

    def delete(self, image_id):
        """Delete an image; one that is already gone is fine.

        Glance may answer 409 or 500 while it still winds down an upload that was cut
        short; that is retried. A 500 may come after Glance deleted the image, and the
        retry is then refused with 400 ("deleted to deleted"): done if the image is gone.
        """
        try:
            self._request("DELETE", f"/images/{image_id}", f"delete image {image_id}",
                          retries=_RETRIES)
        except exceptions.GlanceError as exc:
            if exc.status != 404 and not (exc.status == 400 and self._gone(image_id)):
                raise
        LOG.info("deleted image %s", image_id)

    def _gone(self, image_id):
        try:
            return self.get(image_id)["status"] in ("deleted", "pending_delete")
        except exceptions.GlanceError as exc:
            return exc.status == 404
