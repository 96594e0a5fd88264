"""Nova: whether servers still use an image, so that expiry can spare it."""

import logging

from keystoneauth1 import exceptions as ks_exceptions
from openstack import exceptions as sdk_exceptions

from imgsync import exceptions

LOG = logging.getLogger(__name__)


class ServersInUse:
    """``in_use(image_id)``: whether any server, in any project, was booted from the image.

    Needs a role that may list all projects' servers (admin in Nova's default policy).
    Any doubt is an error, so that an image is never expired on a guess.
    """

    def __init__(self, connection):
        self.connection = connection

    def __call__(self, image_id):
        try:
            response = self.connection.compute.get(
                "/servers", params={"image": image_id, "all_tenants": 1, "limit": 1},
                raise_exc=False)
        except (ks_exceptions.ClientException, sdk_exceptions.SDKException) as exc:
            raise exceptions.NovaError(
                f"cannot ask Nova which servers use image {image_id}: {exc}") from exc
        if response.status_code >= 400:
            raise exceptions.NovaError(
                f"Nova refused to list the servers of image {image_id}: HTTP "
                f"{response.status_code} {' '.join(response.text.split())[:300]}")
        return bool(response.json().get("servers"))
