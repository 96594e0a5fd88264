import pathlib

from oslo_config import generator

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_committed_sample_matches_the_code(tmp_path):
    """etc/imgsync/imgsync.conf.sample must be regenerated (tox -e genconfig) with the code."""
    output = tmp_path / "imgsync.conf.sample"
    generator.main(["--config-file", str(ROOT / "etc/imgsync/imgsync-config-generator.conf"),
                    "--output-file", str(output)])
    committed = (ROOT / "etc/imgsync/imgsync.conf.sample").read_text()
    assert output.read_text() == committed, "sample is stale: run 'tox -e genconfig'"
    assert "[ubuntu-24.04]" in committed and "[keystone_auth]" in committed
