import pytest

from imgsync import cli
from imgsync import exceptions
from imgsync.glance import reserved


@pytest.mark.parametrize("key", [
    "visibility", "disk_format", "container_format", "name", "os_hidden", "owner", "min_disk",
    "protected", "status", "source", "imgsync.sha256", "imgsync.state", "architecture",
    "image_build_date", "os_glance_import_task",
])
def test_reserved_keys_are_refused_naming_key_and_option(key):
    with pytest.raises(exceptions.ConfigError) as caught:
        reserved.check({"hw_qemu_guest_agent": "yes", key: "x"}, "[ubuntu-24.04] properties")
    assert str(caught.value).startswith(f"[ubuntu-24.04] properties: {key!r} is reserved")


@pytest.mark.parametrize("key", ["hw_qemu_guest_agent", "os_distro", "os_purpose",
                                 "hw_disk_bus", "imgsync", "sourcecode", "os_type"])
def test_other_properties_are_allowed(key):
    reserved.check({key: "x"}, "[DEFAULT] properties")


@pytest.mark.parametrize("text,option", [
    ("[DEFAULT]\nproperties = visibility=public\n", "[DEFAULT] properties"),
    ("[ubuntu-24.04]\nproperties = os_type=linux,imgsync.distro=other\n",
     "[ubuntu-24.04] properties"),
    ("[ubuntu-24.04]\nproperties = architecture=aarch64\n", "[ubuntu-24.04] properties"),
])
@pytest.mark.parametrize("command", ["sync", "check"])
def test_reserved_property_in_config_exits_2_with_one_line(tmp_path, capsys, text, option,
                                                           command):
    path = tmp_path / "imgsync.conf"
    path.write_text("[DEFAULT]\ndistributions = ubuntu-24.04\n" + text)
    assert cli.main(["--config-file", str(path), command]) == 2
    out, err = capsys.readouterr()
    assert len(err.strip().splitlines()) == 1
    assert option in err and "is reserved" in err
