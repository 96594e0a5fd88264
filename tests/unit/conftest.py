import pathlib
import subprocess

import pytest

SAMPLES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "upstream"


@pytest.fixture
def sample():
    """Read one of the real upstream files kept in tests/fixtures/upstream."""
    def read(relative):
        return (SAMPLES / relative).read_text()
    return read


@pytest.fixture
def run(tmp_path, capsys):
    """``run(config_text, *argv)``: imgsync's CLI on that configuration, as
    ``(exit code, stdout, stderr)``."""
    from imgsync import cli

    def invoke(config_text, *args):
        path = tmp_path / "imgsync.conf"
        path.write_text(config_text)
        code = cli.main(["--config-file", str(path), *args])
        out, err = capsys.readouterr()
        return code, out, err
    return invoke


@pytest.fixture(scope="session")
def qcow2(tmp_path_factory):
    """The bytes of an empty 64 MiB qcow2 made by qemu-img: a real image header."""
    path = tmp_path_factory.mktemp("qcow2") / "disk.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), "64M"], check=True)
    return path.read_bytes()
