"""Upstream documents are parsed in time linear in their size: a hostile checksum file,
listing or error page of a few MiB is read in about a second, where a backtracking regex
took hours. Each parse runs in its own process with a hard limit far above a linear
parse's time and far below a quadratic one's (a regex holds the GIL: no thread can stop it)."""

import pathlib
import subprocess
import sys

import pytest

from imgsync.glance import client as glance
from imgsync.upstream import checksums
from imgsync.upstream import listing

ROOT = pathlib.Path(__file__).resolve().parents[2]
LIMIT = 30
"""Seconds a hostile parse may take: linear ones take about one, the old ones hours."""
HEX = "'a' * 64"
M = 1 << 20

IMPORTS = {"checksums": "from imgsync.upstream import checksums",
           "listing": "from imgsync.upstream import listing",
           "glance": "from imgsync.glance import client as glance"}
HOSTILE = {
    "gnu blanks inside a name": f"checksums.parse({HEX} + ' x' + ' ' * {M} + 'y')",
    "gnu blanks after a digest": f"checksums.parse({HEX} + ' ' * {M} + 'y')",
    "a run of hex": f"checksums.parse('a' * {M} + ' x')",
    "bsd parentheses": f"checksums.parse('SHA256 (' + '()' * {M // 2} + ') = ' + {HEX})",
    "bsd open parentheses": f"checksums.parse('SHA256 ' + '(' * {M} + 'x')",
    "digests blanks inside a name":
        f"checksums.parse_digests('# SHA256 HASH\\n' + {HEX} + ' x' + ' ' * {M} + 'y')",
    "digests header blanks": f"checksums.parse_digests('#' + ' ' * {M} + 'A HASHx')",
    "listing unclosed tags": f"listing.parse_entries('<a' * {M // 2})",
    "listing unclosed declarations": f"listing.parse_entries('<!' * {M // 2})",
    "listing unclosed end tags": f"listing.parse_entries('</' * {M // 2})",
    "listing unclosed attributes": f"listing.parse_entries('<a x=\"' * {M // 4})",
    "listing one long tag": f"listing.parse_entries('<a ' + 'x=y ' * {M // 2} + '>')",
    "glance error page of '<'": f"glance.explanation('<' * {M})",
    "glance repeated title": f"glance.explanation('500 ' + 'a -' * {M // 2})",
}


@pytest.mark.parametrize("call", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_document_is_parsed_in_linear_time(call):
    code = f"{IMPORTS[call.partition('.')[0]]}\n{call}\n"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, stdin=subprocess.DEVNULL,
                   capture_output=True, timeout=LIMIT, check=True)


def test_the_same_documents_still_parse_as_before():
    digest = "a" * 64
    assert checksums.parse(f"{digest} x{' ' * 1000}y") == {f"x{' ' * 1000}y": ("sha256", digest)}
    assert checksums.parse(f"SHA256 (a(b)c) = {digest}") == {"a(b)c": ("sha256", digest)}
    assert checksums.parse(f"SHA256 (x)) = {digest}") == {"x)": ("sha256", digest)}
    assert checksums.parse(f"{digest} * x") == {"* x": ("sha256", digest)}
    assert checksums.parse(f"{digest}   x\n{digest}\tx\n{'a' * 129} x") == {}
    assert checksums.parse_digests(f"#SHA256\tHASH\n{digest} *x") == {"sha256": {"x": digest}}
    assert checksums.parse_digests(f"# SHA256 HASH x\n{digest} x") == {}


def test_a_listing_reads_links_as_an_html_parser_does():
    page = ('<!-- a > b <a href="hidden/"> --><script>s = "<a href=\'js/\'>"</script>'
            '<A HREF=one/>1</A><a title="a > b" href=\'two&amp;2/\'>2</a>'
            '<a href="three/" href="four/"><abbr href="no/"></abbr><a href="">x</a>')
    assert listing.parse_entries(page) == ["one/", "two&2/", "three/", "four/"]


def test_a_glance_error_page_is_read_only_at_its_start():
    assert glance.explanation("404 Not Found 404 Not Found <p>gone</p>") == "404 Not Found gone"
    assert glance.explanation("x" * 4096 + "tail") == "x" * 300
