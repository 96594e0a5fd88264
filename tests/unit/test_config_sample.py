import ast
import configparser
import importlib.metadata
import pathlib
import re
from unittest import mock

from oslo_config import generator
from stevedore import extension

from imgsync import cli
from imgsync.upstream import drivers
from imgsync.upstream.drivers import base
from imgsync.upstream.drivers import options as driver_options

ROOT = pathlib.Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "etc/imgsync/imgsync.conf.sample"
NAMESPACE = "oslo.config.opts"


def declared_entry_point():
    """imgsync's oslo.config.opts entry point as setup.cfg declares it (the installed
    metadata may predate it until 'pip install -e .' is rerun)."""
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg")
    for line in parser["entry_points"][NAMESPACE].strip().splitlines():
        name, _, value = (part.strip() for part in line.partition("="))
        if name == "imgsync":
            return importlib.metadata.EntryPoint("imgsync", value, NAMESPACE)
    raise AssertionError(f"setup.cfg declares no {NAMESPACE} entry point 'imgsync'")


def generate(output):
    """Run oslo-config-generator as 'tox -e genconfig' does, with setup.cfg's entry point.

    Regenerate the committed sample with:
    python -c 'from tests.unit.test_config_sample import generate as g; g("etc/imgsync/imgsync.conf.sample")'
    """  # noqa: E501
    installed = [ep for ep in importlib.metadata.entry_points(group=NAMESPACE)
                 if ep.name != "imgsync"]
    cache = {**extension.ExtensionManager.ENTRY_POINT_CACHE,
             NAMESPACE: [*installed, declared_entry_point()]}
    with mock.patch.object(extension.ExtensionManager, "ENTRY_POINT_CACHE", cache):
        generator.main(["--config-file",
                        str(ROOT / "etc/imgsync/imgsync-config-generator.conf"),
                        "--output-file", str(output)])


def test_committed_sample_matches_the_code(tmp_path):
    """etc/imgsync/imgsync.conf.sample must be regenerated (tox -e genconfig) with the code."""
    assert declared_entry_point().value == "imgsync.options:list_opts"
    output = tmp_path / "imgsync.conf.sample"
    generate(output)
    committed = SAMPLE.read_text()
    assert output.read_text() == committed, "sample is stale: run 'tox -e genconfig'"
    assert "[ubuntu-24.04]" in committed and "[keystone_auth]" in committed


def test_sample_is_short_and_names_every_driver_group():
    """The common driver options are documented once, not once per driver, and every
    driver is listed in [<driver>] with the defaults it changes."""
    text = SAMPLE.read_text()
    assert len(text.splitlines()) < 1000   # a file an operator reads
    groups = re.findall(r"(?m)^\[(.+)\]$", text)
    assert len(groups) == len(set(groups))
    common = text.split("\n[<driver>]\n")[1].split("\n[")[0]
    assert set(drivers.available()) <= set(re.findall(r"(?m)^#   \[(.+?)\] ", common))
    assert groups.count("<driver>") == 1
    assert len(re.findall(r"(?m)^#allow_signature_downgrade = ", text)) == 1
    assert "mirror" in groups


def test_each_driver_shows_its_own_defaults():
    text = SAMPLE.read_text()
    common = text.split("\n[<driver>]\n")[1].split("\n#\n# From imgsync")[0]
    ubuntu = common.split("#   [ubuntu-24.04] ")[1].split("\n#   [")[0]
    assert "#     base_url = https://cloud-images.ubuntu.com/\n" in ubuntu
    assert "#     signature = required\n" in ubuntu
    assert "#     provided_until = 2029-04-30" in ubuntu
    assert "min_disk 8 GiB, min_ram 512 MiB" in ubuntu
    assert "os_purpose" not in ubuntu and "versions" not in ubuntu
    own = text.split("\n[ubuntu-20.04]\n")[1].split("\n[")[0]
    assert "#stream = release\n" in own and "[ubuntu-24.04]" in own


def test_the_inherited_defaults_are_the_base_drivers():
    """[<driver>] documents the defaults a driver class gets from base.Driver."""
    for attribute in ("signature_default", "signature_style", "os_purpose",
                      "replace_frequency", "provided_until", "extra_opts"):
        assert getattr(driver_options.Inherited, attribute) == getattr(base.Driver, attribute)
    assert "upstream_url" not in vars(base.Driver)
    assert driver_options.Inherited.upstream_url is None


def test_conf_knows_no_driver():
    """The drivers own their options: imgsync.conf imports nothing of imgsync.upstream.drivers."""
    tree = ast.parse((ROOT / "imgsync/conf.py").read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                for alias in node.names} | {node.module for node in ast.walk(tree)
                                            if isinstance(node, ast.ImportFrom)}
    assert not {name for name in imported if name and "drivers" in name}
    assert not [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)
                and node.name in ("driver_opts", "scs_opts", "list_opts")]


def test_the_sample_used_as_it_is_raises_no_unknown_group(tmp_path, capsys, requests_mock):
    """An operator who copies the sample gets no 'unknown group [<driver>]'."""
    sample = tmp_path / "imgsync.conf"
    sample.write_text(SAMPLE.read_text())
    requests_mock.get("https://download.cirros-cloud.net/version/released", status_code=404)
    code = cli.main(["--config-file", str(sample), "--strict-config", "check",
                     "--distributions", "cirros"])
    assert code != 2 and "unknown" not in capsys.readouterr().err
