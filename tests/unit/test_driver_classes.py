"""The release classes made from tables are the classes their entry points name."""

import importlib.metadata

from imgsync.upstream import drivers


def test_each_entry_point_names_its_class():
    entry_points = importlib.metadata.entry_points(group=drivers.NAMESPACE)
    assert len(entry_points) == len(drivers.available())
    for entry_point in entry_points:
        cls = entry_point.load()
        assert f"{cls.__module__}:{cls.__qualname__}" == entry_point.value, entry_point.name
