import pathlib

import pytest

SAMPLES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "upstream"


@pytest.fixture
def sample():
    """Read one of the real upstream files kept in tests/fixtures/upstream."""
    def read(relative):
        return (SAMPLES / relative).read_text()
    return read
