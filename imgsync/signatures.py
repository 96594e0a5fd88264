"""OpenPGP signatures of upstream's checksum files, verified in-process with pysequoia.

A keyring is the certificates of one file (the driver's shipped keys, or the
operator's ``signing_keys``); shipped keys are also pinned by fingerprint in the
driver. A signature counts only when it verifies against the keyring, its signer's
certificate is pinned (or in the operator's file) and that certificate has not
expired or been revoked.
"""

import datetime
import os
import pathlib
import re
import shutil
import subprocess
import tempfile

# pysequoia's errors carry a Rust backtrace, whose symbolication costs ~50 MiB of
# memory on every failed verification; imgsync reports the first line only
os.environ.setdefault("RUST_LIB_BACKTRACE", "0")

import pysequoia  # noqa: E402

from imgsync import exceptions
from imgsync import redact

KEYS_DIR = pathlib.Path(__file__).parent / "keys"
CLEARSIGNED = b"-----BEGIN PGP SIGNED MESSAGE-----"
GPGV_TIMEOUT = 60
_VALIDSIG = re.compile(rb"^\[GNUPG:\] VALIDSIG \S+ (?:\S+ ){8}(\S+)$", re.M)
"""gpgv's status line for a good signature; the last field is the primary key's."""
_GPGV_REFUSALS = rb"(?:REVKEYSIG|EXPKEYSIG|EXPSIG|KEYREVOKED|KEYEXPIRED|BADSIG|ERRSIG|NO_PUBKEY)"


class Keyring:
    """The certificates imgsync trusts for one driver: ``path``'s, limited to ``pinned``
    fingerprints when given (shipped keys), else all of them (the operator's file)."""

    def __init__(self, path, pinned=None):
        self.path = str(path)
        self.certs = load(path)
        self.pinned = {f.lower() for f in pinned} if pinned is not None else None
        if self.pinned is not None:
            self.certs = [c for c in self.certs if c.fingerprint.lower() in self.pinned]
        if not self.certs:
            raise exceptions.ConfigError(f"{self.path}: no pinned OpenPGP certificate in it")

    def _store(self, ids):
        return self.certs

    def check(self, result, url):
        """The signer's fingerprint, once the signer is trusted now."""
        if not result.valid_sigs:
            raise exceptions.SignatureError(f"{redact.url(url)}: no valid signature")
        return self.trusted(result.valid_sigs[0].certificate, url)

    def trusted(self, signer, url):
        """``signer`` (a primary key fingerprint), once its certificate is trusted now."""
        signer = signer.lower()
        cert = next((c for c in self.certs if c.fingerprint.lower() == signer), None)
        if cert is None:
            raise exceptions.SignatureError(
                f"{redact.url(url)}: signed by {signer}, which is not a trusted key")
        if cert.is_revoked:
            raise exceptions.SignatureError(
                f"{redact.url(url)}: signed by {signer}, whose certificate is revoked")
        expiration = cert.expiration
        if expiration is not None and expiration <= datetime.datetime.now(datetime.timezone.utc):
            raise exceptions.SignatureError(
                f"{redact.url(url)}: signed by {signer}, whose certificate expired on "
                f"{expiration:%Y-%m-%d}")
        return signer


def load(path):
    """Every certificate in an OpenPGP file (armored or binary, one or several)."""
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise exceptions.ConfigError(f"{path}: cannot read it: {exc.strerror}") from exc
    try:
        return tuple(pysequoia.Cert.split_file(str(path)))
    except RuntimeError as exc:
        raise exceptions.ConfigError(
            f"{path}: not a file of OpenPGP certificates: {_reason(exc)}") from exc


def verify_detached(data, signature, keyring, url, signature_url):
    """Verify ``signature`` (armored or binary) of ``data``; the signer's fingerprint."""
    try:
        sig = pysequoia.Sig.from_bytes(signature)
    except RuntimeError as exc:
        raise exceptions.SignatureError(
            f"{redact.url(signature_url)} is not an OpenPGP signature: {_reason(exc)}") from exc
    try:
        result = pysequoia.verify(bytes=data, store=keyring._store, signature=sig)
    except RuntimeError as exc:
        if _reason(exc) == "Policy rejected packet type" and sig.version == 3:
            return _verify_v3(data, signature, keyring, url, signature_url)
        raise _refused(exc, url, signature_url, keyring) from exc
    return keyring.check(result, url)


def _verify_v3(data, signature, keyring, url, signature_url):
    """A v3 signature (openSUSE's build service makes them), which Sequoia's policy
    refuses: GnuPG's gpgv verifies it against the same pinned certificates."""
    gpgv = shutil.which("gpgv")
    if gpgv is None:
        raise exceptions.SignatureError(
            f"{redact.url(signature_url)} is a v3 signature, which imgsync verifies with "
            "gpgv, and gpgv is not installed (apt-get install gpgv)")
    with tempfile.TemporaryDirectory(prefix="imgsync-gpgv-") as home:
        ring, sig = os.path.join(home, "keyring.gpg"), os.path.join(home, "signature")
        with open(ring, "wb") as out:
            out.write(b"".join(bytes(cert) for cert in keyring.certs))
        with open(sig, "wb") as out:
            out.write(signature)
        try:
            done = subprocess.run([gpgv, "--status-fd", "1", "--weak-digest", "SHA1",
                                   "--keyring", ring, sig, "-"],
                                  input=data, capture_output=True, timeout=GPGV_TIMEOUT,
                                  env={"GNUPGHOME": home, "LC_ALL": "C"}, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise exceptions.SignatureError(
                f"{redact.url(signature_url)}: gpgv failed: {exc}") from exc
    signer = gpgv_signer(done.stdout, done.returncode)
    if signer is None:
        raise exceptions.SignatureError(
            f"{redact.url(signature_url)}: bad signature of {redact.url(url)}: the v3 "
            f"signature does not verify with the trusted keys in {keyring.path} (gpgv)")
    return keyring.trusted(signer, url)


def gpgv_signer(status, returncode):
    """The primary fingerprint of a good signature in gpgv's status output, or None.

    gpgv exits 0 and prints VALIDSIG for a revoked or expired key too: only a GOODSIG
    with none of the warnings counts."""
    if returncode != 0 or not re.search(rb"^\[GNUPG:\] GOODSIG ", status, re.M) \
            or re.search(rb"^\[GNUPG:\] " + _GPGV_REFUSALS + rb"\b", status, re.M):
        return None
    valid = _VALIDSIG.search(status)
    return valid.group(1).decode() if valid else None


def verify_clearsigned(document, keyring, url):
    """Verify a clear-signed ``document``; ``(signed text, signer's fingerprint)``.

    Only the signed text may be used: anything outside the signature is not upstream's.
    """
    try:
        result = pysequoia.verify(bytes=document, store=keyring._store)
    except RuntimeError as exc:
        raise _refused(exc, url, url, keyring) from exc
    return result.bytes.decode("utf-8", "replace"), keyring.check(result, url)


def is_clearsigned(document):
    return document.lstrip().startswith(CLEARSIGNED)


def _refused(exc, url, signature_url, keyring):
    reason = _reason(exc)
    if "no valid signatures" in reason:
        reason = (f"the signature does not verify with the trusted keys in {keyring.path} "
                  "(tampered file, another signer, or an expired or revoked key)")
    return exceptions.SignatureError(
        f"{redact.url(signature_url)}: bad signature of {redact.url(url)}: {reason}")


def _reason(exc):
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
