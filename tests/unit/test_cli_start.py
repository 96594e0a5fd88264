"""A command imports only what it uses (issue 19): each runs in a fresh interpreter,
which then tells which of the heavy packages it imported."""

import json
import subprocess
import sys

import pytest

HEAVY = ("openstack", "oslo_config", "keystoneauth1", "imgsync.upstream.drivers", "yaml")
PROBE = ("import json, sys\n"
         "from imgsync import cli\n"
         "try:\n"
         "    code = cli.main(sys.argv[2:])\n"
         "except SystemExit as exc:\n"
         "    code = exc.code\n"
         "with open(sys.argv[1], 'w') as out:\n"
         f"    json.dump([code, [m for m in {HEAVY!r} if m in sys.modules]], out)\n")
CONFIG = ("[DEFAULT]\ndistributions = ubuntu-24.04\nhttp_retries = 0\n"
          "[ubuntu-24.04]\nbase_url = http://127.0.0.1:9/\n")


def imported(tmp_path, *args):
    """(exit status, the HEAVY packages imported) of ``imgsync args --config-file F``."""
    config, result = tmp_path / "imgsync.conf", tmp_path / "result.json"
    config.write_text(CONFIG)
    subprocess.run([sys.executable, "-c", PROBE, str(result), *args, "--config-file",
                    str(config)], capture_output=True, stdin=subprocess.DEVNULL, timeout=60,
                   check=True, cwd=tmp_path)
    code, modules = json.loads(result.read_text())
    return code, modules


def test_version_imports_not_even_oslo_config(tmp_path):
    assert imported(tmp_path, "--version") == (0, [])


@pytest.mark.parametrize("args", [["--help"], ["sync", "--help"]])
def test_help_imports_no_driver_and_no_keystoneauth1(tmp_path, args):
    assert imported(tmp_path, *args) == (0, ["oslo_config"])


@pytest.mark.parametrize("args,status", [
    (["list-distros"], 0),
    (["check"], 1),   # upstream refuses the connection
    (["catalog", "--output-dir", "catalogs"], 1),
])
def test_commands_without_glance_import_no_openstacksdk(tmp_path, args, status):
    code, modules = imported(tmp_path, *args)
    assert code == status
    assert "openstack" not in modules and "imgsync.upstream.drivers" in modules


def test_list_distros_imports_no_yaml(tmp_path):
    assert "yaml" not in imported(tmp_path, "list-distros")[1]
