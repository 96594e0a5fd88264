"""Drivers bind a build to what upstream signed: the signature's time, the file a signed
checksum names, Flatcar's signed version.txt; and an unsigned file is never used silently."""

import datetime
import hashlib
import logging
import pathlib

import pysequoia
import pytest

from imgsync import exceptions
from imgsync.upstream import signatures
from imgsync.upstream.drivers import flatcar
from imgsync.upstream.drivers import ubuntu
from tests.unit import drivers_util
from tests.unit.drivers_util import listing
from tests.unit.test_flatcar import IMG
from tests.unit.test_flatcar import VERSION_TXT
from tests.unit.test_flatcar import digests

REAL = pathlib.Path(__file__).resolve().parents[2].parent / "shared" / "upstream" / "real"
NOBLE = REAL / "ubuntu" / "releases" / "noble" / "release-20260725"
BASE = "http://127.0.0.1:8080/ubuntu/"
RELEASES = BASE + "releases/noble/"


def noble(requests_mock, serial):
    """Canonical's real SHA256SUMS and SHA256SUMS.gpg (signed 2026-07-25) in ``serial``."""
    if not NOBLE.is_dir():
        pytest.skip(f"{NOBLE} (shared/ beside the project) is not here")
    requests_mock.get(RELEASES, text=listing(f"release-{serial}/"))
    requests_mock.get(f"{RELEASES}release-{serial}/SHA256SUMS",
                      content=(NOBLE / "SHA256SUMS").read_bytes())
    requests_mock.get(f"{RELEASES}release-{serial}/SHA256SUMS.gpg",
                      content=(NOBLE / "SHA256SUMS.gpg").read_bytes())
    return drivers_util.make_driver(ubuntu.Ubuntu2404, "ubuntu-24.04", BASE,
                                    signature="required")


def test_a_real_release_records_when_it_was_signed(requests_mock):
    release, = noble(requests_mock, "20260725").releases()
    assert release.signed_at == datetime.datetime(2026, 7, 25, 22, 34, 7,
                                                  tzinfo=datetime.timezone.utc)


def test_a_real_signed_build_replayed_under_a_later_serial_is_refused(requests_mock):
    with pytest.raises(exceptions.RefusedBuild, match=(
            r"refused build 20261101 \(x86_64\) of ubuntu-24.04: .*/release-20261101/SHA256SUMS "
            r"was signed on 2026-07-25 22:34 UTC, before the build date 2026-11-01")):
        noble(requests_mock, "20261101").releases()


def test_a_build_dated_in_the_future_is_refused(requests_mock):
    with pytest.raises(exceptions.RefusedBuild, match="its build date 2099-01-01 lies in the "
                                                      "future"):
        noble(requests_mock, "20990101").releases()


# Flatcar: version.txt signed as each artefact is, by the one key of every channel and board
BASE_FC = "http://mirror.test/flatcar-stable/"
BOARD = BASE_FC + "amd64-usr/"


@pytest.fixture(scope="module")
def key():
    return pysequoia.Tsk.generate("flatcar test <test@example.invalid>")


def flatcar_driver(tmp_path, key, **overrides):
    keys = tmp_path / "keys.asc"
    keys.write_text(str(key.extract_certificate()))
    return drivers_util.make_driver(flatcar.FlatcarStable, "flatcar-stable", BASE_FC,
                                    signing_keys=str(keys), **{"signature": "required",
                                                               **overrides})


def sign(key, data, mode=pysequoia.SignatureMode.DETACHED):
    return pysequoia.sign(key.signer(), data, mode=mode)


def publish_flatcar(requests_mock, key, version_txt=VERSION_TXT, version="4230.2.4",
                    txt_signature="sig"):
    """current/version.txt (signed by ``.sig``, ``.DIGESTS.asc`` or nothing) and the
    version's signed image DIGESTS."""
    txt = version_txt.encode()
    requests_mock.get(BOARD + "current/version.txt", content=txt)
    requests_mock.get(BOARD + "current/version.txt.sig",
                      **({"content": sign(key, txt)} if txt_signature == "sig"
                         else {"status_code": 404}))
    if txt_signature == "digests":
        blocks = f"# SHA512 HASH\n{hashlib.sha512(txt).hexdigest()}  version.txt\n"
        requests_mock.get(BOARD + "current/version.txt.DIGESTS.asc",
                          content=sign(key, blocks.encode(), pysequoia.SignatureMode.CLEAR))
    else:
        requests_mock.get(BOARD + "current/version.txt.DIGESTS.asc", status_code=404)
    directory = f"{BOARD}{version}/"
    requests_mock.get(directory, text=listing(IMG, IMG + ".DIGESTS"))
    requests_mock.get(directory + IMG + ".DIGESTS.asc",
                      content=sign(key, digests(IMG).encode(), pysequoia.SignatureMode.CLEAR))


@pytest.mark.parametrize("how", ["sig", "digests"])
def test_flatcar_version_txt_signed_by_sig_or_digests(requests_mock, tmp_path, key, how):
    publish_flatcar(requests_mock, key, txt_signature=how)
    release, = flatcar_driver(tmp_path, key).releases()
    assert (release.version, release.build_date) == ("4230.2.4", datetime.date(2025, 10, 13))
    assert release.signed_by == key.extract_certificate().fingerprint.lower()


def test_flatcar_another_channels_signed_version_is_refused(requests_mock, tmp_path, key):
    beta = VERSION_TXT.replace("BRANCH=2", "BRANCH=1").replace("4230.2.4", "4230.1.0")
    publish_flatcar(requests_mock, key, beta, version="4230.1.0")
    with pytest.raises(exceptions.RefusedBuild, match="names FLATCAR_BRANCH 1, not 2, the "
                                                      "branch of Flatcar Stable"):
        flatcar_driver(tmp_path, key).releases()


def test_flatcar_a_version_directory_holding_another_version_is_refused(requests_mock,
                                                                        tmp_path, key):
    """4230.2.4/ holding 4230.2.9's genuine, signed version.txt (and so its files)."""
    newest = VERSION_TXT.replace("4230.2.4", "4230.2.9")
    publish_flatcar(requests_mock, key, newest, version="4230.2.9")
    requests_mock.get(BOARD, text=listing("current/", "4230.2.4/", "4230.2.9/"))
    requests_mock.get(BOARD + "4230.2.4/version.txt", content=newest.encode())
    requests_mock.get(BOARD + "4230.2.4/version.txt.sig", content=sign(key, newest.encode()))
    with pytest.raises(exceptions.RefusedBuild, match=r"refused build 4230.2.4 of flatcar-stable"
                                                      r": .*/4230.2.4/version.txt names "
                                                      r"version 4230.2.9"):
        flatcar_driver(tmp_path, key, versions=2).releases()


def test_flatcar_version_txt_unsigned(requests_mock, tmp_path, key, caplog):
    publish_flatcar(requests_mock, key, txt_signature=None)
    with pytest.raises(exceptions.SignatureError, match="neither .sig nor .DIGESTS.asc"):
        flatcar_driver(tmp_path, key).releases()
    with caplog.at_level(logging.WARNING):
        flatcar_driver(tmp_path, key, signature="if-published").releases()
    assert "current/version.txt is not signed (neither .sig nor .DIGESTS.asc beside it); " \
           "used unsigned because [flatcar-stable] signature = if-published" in caplog.text


def test_flatcar_version_txt_not_the_one_its_signed_digests_list(requests_mock, tmp_path, key):
    publish_flatcar(requests_mock, key, txt_signature="digests")
    requests_mock.get(BOARD + "current/version.txt",
                      content=VERSION_TXT.replace("1912", "1913").encode())
    with pytest.raises(exceptions.SignatureError, match="is not the version.txt whose sha512"):
        flatcar_driver(tmp_path, key).releases()


def test_if_published_warns_every_time_it_uses_an_unsigned_file(requests_mock, caplog):
    driver = drivers_util.make_driver(ubuntu.Ubuntu2404Minimal, "ubuntu-24.04-minimal", BASE,
                                      signature="if-published", stream="daily")
    daily = BASE + "minimal/daily/noble/"
    requests_mock.get(daily, text=listing("20261101/"))
    requests_mock.get(daily + "20261101/SHA256SUMS",
                      text=f"{'a' * 64} *noble-minimal-cloudimg-amd64.img\n")
    requests_mock.get(daily + "20261101/SHA256SUMS.gpg", status_code=404)
    with caplog.at_level(logging.WARNING):
        for _ in range(2):
            assert driver.releases()[0].signed_by is None
    warnings = [r for r in caplog.records if "used unsigned" in r.getMessage()]
    assert len(warnings) == 2
    assert "SHA256SUMS is not signed (no .gpg beside it)" in warnings[0].getMessage()


def test_a_newer_signature_beside_the_genuine_one_gives_no_fresher_time():
    """A mirror copies, into a genuine clear-signed file of 2023, a newer signature that
    the same key made over another file: after the signature block (refused), or inside
    it (the earliest of the key's signatures counts)."""
    from tests.functional import mirror as mirror_mod  # noqa: PLC0415 - its GnuPG key
    old = datetime.datetime(2023, 1, 2, 12, tzinfo=datetime.timezone.utc)
    genuine = mirror_mod.clearsigned("# SHA512 HASH\n" + "e" * 128 + "  a.img\n", at=old)
    key = mirror_mod.signing_key()
    keyring = signatures.Keyring.__new__(signatures.Keyring)
    keyring.path, keyring.certs, keyring.pinned = "test", [key.extract_certificate()], None
    assert signatures.verify_clearsigned(genuine, keyring, "DIGESTS.asc")[1].at == old
    newer = pysequoia.sign(key.signer(), b"another file", mode=pysequoia.SignatureMode.DETACHED)
    with pytest.raises(exceptions.SignatureError, match="data after the signature"):
        signatures.verify_clearsigned(genuine + b"\n" + newer, keyring, "DIGESTS.asc")
    start = genuine.index(b"-----BEGIN PGP SIGNATURE-----")
    both = bytes(pysequoia.Sig.from_bytes(newer)) + bytes(pysequoia.Sig.from_bytes(
        genuine[start:]))
    spliced = genuine[:start] + pysequoia.armor(both, pysequoia.ArmorKind.Signature).encode()
    assert signatures.verify_clearsigned(spliced, keyring, "DIGESTS.asc")[1].at == old
