"""OpenPGP signatures of upstream's checksum files, verified in-process with pysequoia.

A keyring is the certificates of one file (the driver's shipped keys, or the
operator's ``signing_keys``); shipped keys are also pinned by fingerprint in the
driver. A signature counts only when it verifies against the keyring, its signer's
certificate is pinned (or in the operator's file) and that certificate has not
expired or been revoked.
"""

import dataclasses
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
from pysequoia import packet  # noqa: E402

from imgsync import exceptions
from imgsync import redact

KEYS_DIR = pathlib.Path(__file__).parent / "keys"
CLEARSIGNED = b"-----BEGIN PGP SIGNED MESSAGE-----"
END_SIGNATURE = b"-----END PGP SIGNATURE-----"
GPGV_TIMEOUT = 60
_VALIDSIG = re.compile(rb"^\[GNUPG:\] VALIDSIG \S+ \S+ (\S+) (?:\S+ ){6}(\S+)$", re.M)
"""gpgv's status line for a good signature: the signature's time, the primary key."""


@dataclasses.dataclass(frozen=True)
class Signed:
    """A verified signature: the trusted signer (primary key fingerprint, lower case) and
    when the signature was made, as the signature itself says (UTC)."""

    signer: str
    at: datetime.datetime
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

    def check(self, result, signature, url):
        """The Signed of a verification ``result``, once the signer is trusted now;
        ``signature`` holds the signature packets (for the signature's time)."""
        if not result.valid_sigs:
            raise exceptions.SignatureError(f"{redact.url(url)}: no valid signature")
        valid = result.valid_sigs[0]
        return Signed(self.trusted(valid.certificate, url),
                      created(signature, valid.signing_key, url))

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


def created(signature, signing_key, url):
    """When the signature by ``signing_key`` (a key fingerprint) among the packets of
    ``signature`` (armored or binary) was made: the earliest, should the key have made
    several (a newer packet copied beside the genuine one must not make a build look
    fresher)."""
    key = signing_key.lower()
    try:
        packets = packet.PacketPile.from_bytes(signature)
    except RuntimeError as exc:
        raise exceptions.SignatureError(
            f"{redact.url(url)}: unreadable signature packets: {_reason(exc)}") from exc
    times = [item.signature_created.astimezone(datetime.timezone.utc) for item in packets
             if item.tag == packet.Tag.Signature and item.signature_created is not None
             and ((item.issuer_fingerprint or "").lower() == key
                  or not item.issuer_fingerprint
                  and (item.issuer_key_id or "").lower() == key[-16:])]
    if times:
        return min(times)
    raise exceptions.SignatureError(
        f"{redact.url(url)}: the valid signature carries no creation time")


def verify_detached(data, signature, keyring, url, signature_url):
    """Verify ``signature`` (armored or binary) of ``data``; a Signed."""
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
    return keyring.check(result, bytes(sig), url)   # the one signature that was verified


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
    signed = gpgv_signed(done.stdout, done.returncode)
    if signed is None:
        raise exceptions.SignatureError(
            f"{redact.url(signature_url)}: bad signature of {redact.url(url)}: the v3 "
            f"signature does not verify with the trusted keys in {keyring.path} (gpgv)")
    return Signed(keyring.trusted(signed.signer, url), signed.at)


def gpgv_signed(status, returncode):
    """The Signed of a good signature in gpgv's status output (the signer as gpgv prints
    it), or None.

    gpgv exits 0 and prints VALIDSIG for a revoked or expired key too: only a GOODSIG
    with none of the warnings counts."""
    if returncode != 0 or not re.search(rb"^\[GNUPG:\] GOODSIG ", status, re.M) \
            or re.search(rb"^\[GNUPG:\] " + _GPGV_REFUSALS + rb"\b", status, re.M):
        return None
    valid = _VALIDSIG.search(status)
    if not valid:
        return None
    stamp = valid.group(1).decode()
    try:   # seconds since the epoch, or ISO 8601 (gpg's --fixed-list-mode variants)
        at = (datetime.datetime.fromtimestamp(int(stamp), datetime.timezone.utc)
              if stamp.isdigit() else datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%S")
              .replace(tzinfo=datetime.timezone.utc))
    except (ValueError, OverflowError):
        return None
    return Signed(valid.group(2).decode(), at)


def verify_clearsigned(document, keyring, url):
    """Verify a clear-signed ``document``; ``(signed text, Signed)``.

    Only the signed text may be used: anything outside the signature is not upstream's.
    """
    try:
        result = pysequoia.verify(bytes=document, store=keyring._store)
    except RuntimeError as exc:
        raise _refused(exc, url, url, keyring) from exc
    start = document.find(b"-----BEGIN PGP SIGNATURE-----")
    end = document.find(END_SIGNATURE, start) + len(END_SIGNATURE)
    if start < 0 or end < len(END_SIGNATURE) or document[end:].strip():
        raise exceptions.SignatureError(
            f"{redact.url(url)}: data after the signature, which is not upstream's")
    return (result.bytes.decode("utf-8", "replace"),
            keyring.check(result, document[start:end], url))


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
