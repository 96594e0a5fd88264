"""OpenPGP signatures of checksum files: real upstream samples and keys made here."""

import datetime
import pathlib

import pysequoia
import pytest

from imgsync import cli
from imgsync import exceptions
from imgsync.upstream import signatures
from imgsync.upstream.drivers import fedora
from imgsync.upstream.drivers import flatcar
from imgsync.upstream.drivers import opensuse
from imgsync.upstream.drivers import ubuntu
from tests.unit import drivers_util

SIGNED = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "signed"
UEC = "d2eb44626fddc30b513d5bb71a5d6c4c7db87c81"
BASE = "http://127.0.0.1:8080/ubuntu/"
DAILY = BASE + "noble/"
NOBLE = "6a81c375"   # start of noble-server-cloudimg-amd64.img's sha256 in the sample


def shipped(cls):
    return signatures.Keyring(signatures.KEYS_DIR / cls.keys_file, cls.signing_fingerprints)


def ubuntu_driver(**overrides):
    return drivers_util.make_driver(ubuntu.Ubuntu2404, "ubuntu-24.04", BASE, stream="daily",
                                    **{"signature": "required", **overrides})


def publish(requests_mock, sums=None, signature=None):
    requests_mock.get(DAILY, text=drivers_util.listing("20260926/"))
    requests_mock.get(DAILY + "20260926/SHA256SUMS",
                      content=sums or (SIGNED / "ubuntu" / "SHA256SUMS").read_bytes())
    if signature is None:
        requests_mock.get(DAILY + "20260926/SHA256SUMS.gpg", status_code=404)
    else:
        requests_mock.get(DAILY + "20260926/SHA256SUMS.gpg", content=signature)


def real_signature():
    return (SIGNED / "ubuntu" / "SHA256SUMS.gpg").read_bytes()


@pytest.fixture(scope="module")
def key():
    return pysequoia.Tsk.generate("imgsync test <test@example.invalid>")


def keyfile(tmp_path, *certs):
    path = tmp_path / "keys.asc"
    path.write_text("".join(str(cert) for cert in certs))
    return path


def test_ubuntus_real_signature_verifies_with_the_shipped_key(requests_mock):
    publish(requests_mock, signature=real_signature())
    release, = ubuntu_driver().releases()
    assert release.signed_by == UEC
    assert release.checksum.startswith(NOBLE)


def test_a_tampered_checksum_file_is_refused(requests_mock):
    sums = (SIGNED / "ubuntu" / "SHA256SUMS").read_bytes().replace(b"6a81c375", b"6a81c376")
    publish(requests_mock, sums=sums, signature=real_signature())
    with pytest.raises(exceptions.SignatureError) as refused:
        ubuntu_driver().releases()
    message = str(refused.value)
    assert message.startswith(f"{DAILY}20260926/SHA256SUMS.gpg: bad signature of ")
    assert "ubuntu.asc" in message


def test_a_missing_signature_is_refused_when_required_and_noted_otherwise(requests_mock):
    publish(requests_mock)
    with pytest.raises(exceptions.SignatureError,
                       match=r"SHA256SUMS: no signature \(.gpg\) beside it"):
        ubuntu_driver().releases()
    release, = ubuntu_driver(signature="if-published").releases()
    assert release.signed_by is None and release.checksum.startswith(NOBLE)


def test_a_mirror_signing_with_its_own_key_is_refused_by_default(requests_mock, key):
    sums = (SIGNED / "ubuntu" / "SHA256SUMS").read_bytes()
    forged = pysequoia.sign(key.signer(), sums, mode=pysequoia.SignatureMode.DETACHED)
    publish(requests_mock, signature=forged)
    with pytest.raises(exceptions.SignatureError, match="bad signature"):
        ubuntu_driver().releases()
    with pytest.raises(exceptions.SignatureError, match="bad signature"):
        ubuntu_driver(signature="if-published").releases()


def test_signing_keys_replace_the_shipped_keys(requests_mock, key, tmp_path):
    sums = (SIGNED / "ubuntu" / "SHA256SUMS").read_bytes()
    binary = pysequoia.sign(key.signer(), sums, mode=pysequoia.SignatureMode.DETACHED,
                            armor=False)
    publish(requests_mock, signature=binary)
    path = keyfile(tmp_path, key.extract_certificate())
    release, = ubuntu_driver(signing_keys=str(path)).releases()
    assert release.signed_by == key.extract_certificate().fingerprint.lower()
    publish(requests_mock, signature=real_signature())
    with pytest.raises(exceptions.SignatureError):   # upstream's key is no longer trusted
        ubuntu_driver(signing_keys=str(path)).releases()


@pytest.mark.parametrize("signature,fragment", [
    ("expired-data.sig", "whose certificate expired on 2026-11-23"),   # made while valid
    ("expired-data.sig-after-expiry", "bad signature"),                # made after
])
def test_a_signature_by_an_expired_key_is_refused(signature, fragment):
    keyring = signatures.Keyring(SIGNED / "expired-key.gpg")
    with pytest.raises(exceptions.SignatureError, match=fragment):
        signatures.verify_detached((SIGNED / "expired-data").read_bytes(),
                                   (SIGNED / signature).read_bytes(), keyring, "data",
                                   signature)


def test_a_signature_by_a_revoked_key_is_refused(requests_mock, tmp_path):
    doomed = pysequoia.Tsk.generate("revoked <r@example.invalid>")
    sums = (SIGNED / "ubuntu" / "SHA256SUMS").read_bytes()
    publish(requests_mock,
            signature=pysequoia.sign(doomed.signer(), sums, mode=pysequoia.SignatureMode.DETACHED))
    cert = doomed.extract_certificate()
    good = keyfile(tmp_path, cert)
    assert ubuntu_driver(signing_keys=str(good)).releases()[0].signed_by   # before revoking
    revoked = pysequoia.Cert.from_bytes(bytes(cert) + bytes(cert.revoke(doomed.certifier())))
    with pytest.raises(exceptions.SignatureError, match="bad signature"):
        ubuntu_driver(signing_keys=str(keyfile(tmp_path, revoked))).releases()


def test_fedoras_real_clear_signed_checksum_file():
    document = (SIGNED / "fedora" / "Fedora-Cloud-44-1.7-aarch64-CHECKSUM").read_bytes()
    text, signed = signatures.verify_clearsigned(document, shipped(fedora.Fedora), "CHECKSUM")
    assert signed.signer == "36f612dcf27f7d1a48a835e4dbfcf71c6d9f90a6"
    assert signed.at.tzinfo is not None and signed.at.year == 2026
    assert "SHA256 (Fedora-Cloud-Base-Generic-44-1.7.aarch64.qcow2) = " in text
    assert "PGP" not in text


def test_only_the_clear_signed_text_counts(key):
    signed = pysequoia.sign(key.signer(), b"SHA256 (a.img) = " + b"a" * 64 + b"\n",
                            mode=pysequoia.SignatureMode.CLEAR)
    document = b"SHA256 (evil.img) = " + b"e" * 64 + b"\n" + signed
    keyring = signatures.Keyring.__new__(signatures.Keyring)
    keyring.path, keyring.certs, keyring.pinned = "test", [key.extract_certificate()], None
    text, _ = signatures.verify_clearsigned(document, keyring, "CHECKSUM")
    assert "a.img" in text and "evil" not in text


def test_flatcars_real_clear_signed_digests_signed_by_a_subkey():
    document = (SIGNED / "flatcar" / "flatcar_production_image_sbom.json.DIGESTS.asc").read_bytes()
    text, signed = signatures.verify_clearsigned(document, shipped(flatcar.FlatcarStable),
                                                 "DIGESTS.asc")
    # the signature is made by a subkey; its time is found by that subkey's fingerprint
    assert signed == signatures.Signed(
        "f88cfedeff29a5b4d9523864e25d9aed0593b34a",
        datetime.datetime(2026, 5, 9, 0, 43, 25, tzinfo=datetime.timezone.utc))
    assert "# SHA512 HASH" in text


LEAP = "Leap-16.0-Minimal-VM.aarch64-Cloud-Build18.7.qcow2.sha256"


def test_opensuses_real_v3_signature_verifies_with_gpgv():
    signed = signatures.verify_detached((SIGNED / "opensuse" / LEAP).read_bytes(),
                                        (SIGNED / "opensuse" / f"{LEAP}.asc").read_bytes(),
                                        shipped(opensuse.Leap160), LEAP, f"{LEAP}.asc")
    # gpgv's VALIDSIG gives the time of the v3 signature
    assert signed == signatures.Signed(
        "ad485664e901b867051ab15f35a2f86e29b700a4",
        datetime.datetime(2026, 6, 19, 5, 31, 12, tzinfo=datetime.timezone.utc))
    assert opensuse.Leap160.signature_default == "required"


def test_a_tampered_file_with_a_v3_signature_is_refused(key, tmp_path):
    data = (SIGNED / "opensuse" / LEAP).read_bytes().replace(b"2e9e", b"3e9e")
    with pytest.raises(exceptions.SignatureError, match="v3 signature does not verify"):
        signatures.verify_detached(data, (SIGNED / "opensuse" / f"{LEAP}.asc").read_bytes(),
                                   shipped(opensuse.Leap160), LEAP, f"{LEAP}.asc")
    other = signatures.Keyring(keyfile(tmp_path, key.extract_certificate()))
    with pytest.raises(exceptions.SignatureError, match="v3 signature does not verify"):
        signatures.verify_detached((SIGNED / "opensuse" / LEAP).read_bytes(),
                                   (SIGNED / "opensuse" / f"{LEAP}.asc").read_bytes(),
                                   other, LEAP, f"{LEAP}.asc")


@pytest.mark.parametrize("cls", [ubuntu.Ubuntu2404, fedora.Fedora, flatcar.FlatcarStable])
def test_default_is_required_where_upstream_signs(cls):
    assert cls.signature_default == "required" and shipped(cls).certs


@pytest.mark.parametrize("text,fragment", [
    ("[debian-13]\nsignature = required\n", "[debian-13] signature = required, but Debian"),
    ("[ubuntu-24.04]\nsigning_keys = /nonexistent.asc\n",
     "[ubuntu-24.04] signing_keys: /nonexistent.asc: cannot read it"),
])
def test_signature_configuration_errors_exit_2(tmp_path, capsys, text, fragment):
    path = tmp_path / "imgsync.conf"
    path.write_text("[DEFAULT]\ndistributions = ubuntu-24.04,debian-13\n" + text)
    assert cli.main(["--config-file", str(path), "check"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0], err


GOOD_V3 = (b"[GNUPG:] NEWSIG\n[GNUPG:] KEY_CONSIDERED AD48 0\n"
           b"[GNUPG:] GOODSIG 35A2F86E29B700A4 openSUSE Project Signing Key\n"
           b"[GNUPG:] VALIDSIG AD485664E901B867051AB15F35A2F86E29B700A4 2026-06-19 1781847072 "
           b"0 3 0 1 10 00 AD485664E901B867051AB15F35A2F86E29B700A4\n")


@pytest.mark.parametrize("warning", [b"REVKEYSIG 35A2F86E29B700A4 x", b"EXPKEYSIG 35A2 x",
                                     b"EXPSIG 35A2 x", b"KEYREVOKED", b"ERRSIG 35A2 1 2 00 0 5"])
def test_gpgv_warnings_refuse_a_signature_it_calls_valid(warning):
    assert signatures.gpgv_signed(GOOD_V3, 0) == signatures.Signed(
        "AD485664E901B867051AB15F35A2F86E29B700A4",
        datetime.datetime.fromtimestamp(1781847072, datetime.timezone.utc))
    assert signatures.gpgv_signed(GOOD_V3 + b"[GNUPG:] " + warning + b"\n", 0) is None
    assert signatures.gpgv_signed(GOOD_V3.replace(b"GOODSIG", b"BADSIG"), 0) is None
    assert signatures.gpgv_signed(GOOD_V3, 1) is None


def test_a_revoked_certificate_is_never_trusted(tmp_path):
    doomed = pysequoia.Tsk.generate("revoked <r@example.invalid>")
    cert = doomed.extract_certificate()
    revoked = pysequoia.Cert.from_bytes(bytes(cert) + bytes(cert.revoke(doomed.certifier())))
    keyring = signatures.Keyring(keyfile(tmp_path, revoked))
    with pytest.raises(exceptions.SignatureError, match="whose certificate is revoked"):
        keyring.trusted(cert.fingerprint, "SHA256SUMS")   # as gpgv's VALIDSIG would name it
