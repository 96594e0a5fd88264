"""Checks catalog files against openstack-image-manager's own schema, as it does (yamale)."""

import pathlib

import yamale

SCHEMA = pathlib.Path(__file__).parent / "fixtures" / "openstack-image-manager" / "schema.yaml"


def validate(path):
    """Raise yamale.YamaleError unless the file is valid (strict: no unknown keys)."""
    yamale.validate(yamale.make_schema(str(SCHEMA)), yamale.make_data(str(path)), strict=True)
