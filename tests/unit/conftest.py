import pathlib

import pytest

SAMPLES = pathlib.Path(__file__).resolve().parents[3] / "shared" / "upstream" / "samples"


@pytest.fixture
def sample():
    """Read one of the real upstream files kept in ../shared/upstream/samples."""
    def read(relative):
        path = SAMPLES / relative
        if not path.exists():
            pytest.skip(f"{path} not present (run beside ../shared)")
        return path.read_text()
    return read
