"""Distribution drivers, found through the stevedore namespace ``imgsync.distros``."""

import logging

from stevedore import extension

NAMESPACE = "imgsync.distros"
LOG = logging.getLogger(__name__)


def _on_load_failure(manager, entrypoint, exc):
    LOG.warning("could not load distribution driver %s: %s", entrypoint.name, exc)


def available():
    """Map each installed driver name to its class."""
    manager = extension.ExtensionManager(
        NAMESPACE, invoke_on_load=False, on_load_failure_callback=_on_load_failure)
    return {ext.name: ext.plugin for ext in manager}
