"""Ordering of upstream build ids."""

import re


def natural_key(version):
    """Sort key comparing digit runs as numbers: 20240423.10 > 20240423.9 > 20240423."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part)
            for part in re.split(r"(\d+)", version) if part]
