"""Find out, before any image byte is read, whether Glance lets imgsync do its job."""

import logging

from imgsync import exceptions

LOG = logging.getLogger(__name__)
POLICIES = {"public": "publicize_image", "community": "communitize_image"}
"""Glance policy rules that guard a visibility (the others need none beyond add_image)."""


def check(glance, name, visibility, properties):
    """Do with a throwaway image record what an upload does to its image; then delete it.

    The record is created private, hidden and pending with ``properties`` (imgsync's
    own and the operator's); then, in one PATCH as a publication, its imgsync properties
    are updated and removed and it is given ``visibility``. Glance's property protections
    and policy answer; a refusal raises GlanceError naming what is missing.
    A record left behind by a crash is pending and cleaned like any other.
    """
    try:
        image_id = glance.create(name, "raw", 0, 0, properties)
    except exceptions.GlanceError as exc:
        raise _refused(exc, "create an image with imgsync's properties "
                            f"({', '.join(sorted(properties))})",
                       "Glance's property protections must let this account's roles create, "
                       "update and delete source and imgsync.* (see "
                       "etc/imgsync/glance-property-protections.conf)") from exc
    try:
        _publish(glance, image_id, visibility)
    finally:
        glance.delete(image_id)
    LOG.debug("Glance lets this account publish %s images with %s", visibility,
              ", ".join(sorted(properties)))


def _publish(glance, image_id, visibility):
    """Change the record as a publication does, in one PATCH as it does; when Glance
    refuses that, step by step, so that the error names what is missing."""
    state = [{"op": "replace", "path": "/imgsync.state", "value": "pending"},
             {"op": "remove", "path": "/imgsync.started_at"}]
    shown = ([{"op": "replace", "path": "/visibility", "value": visibility}]
             if visibility != "private" else [])
    if shown:
        try:
            glance.patch(image_id, shown + state, f"publish image {image_id} as {visibility}")
            return
        except exceptions.GlanceError as exc:
            LOG.debug("finding out which change Glance refuses: %s", exc)
    try:
        glance.patch(image_id, state, f"update the imgsync properties of image {image_id}")
    except exceptions.GlanceError as exc:
        raise _refused(exc, "update and remove imgsync.* properties",
                       "Glance's property protections must let this account's roles "
                       "update and delete imgsync.*") from exc
    if shown:
        try:
            glance.patch(image_id, shown, f"make image {image_id} {visibility}")
        except exceptions.GlanceError as exc:
            policy = POLICIES.get(visibility)
            rule = f"Glance's policy {policy!r}" if policy else "Glance's policy"
            raise _refused(exc, f"publish images as {visibility}",
                           f"{rule} refuses this account; grant the role it requires "
                           "or choose another [DEFAULT] visibility") from exc


def _refused(exc, action, hint):
    if exc.status not in (401, 403):
        return exc
    return exceptions.GlanceError(
        f"missing permission: this account may not {action}: {exc}; {hint}", status=exc.status)
