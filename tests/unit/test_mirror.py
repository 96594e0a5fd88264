"""The object-store mirror, without a store: names, metadata read back, the planner as a
table, the cutting into parts, and an upload's abort on every failure."""

import datetime

import pytest

from imgsync import exceptions
from imgsync.engine import mirror_plan
from imgsync.mirror import layout
from imgsync.mirror import upload
from imgsync.pipeline import proof
from imgsync.upstream.drivers import base

X86, ARM = "x86_64", "aarch64"


def rel(version, arch=X86, checksum=None, compression=None, signed_by=None):
    return base.Release(
        distro="ubuntu-24.04", display_name="Ubuntu 24.04", version=version,
        build_date=datetime.date(2024, 4, 23), url=f"https://mirror.test/{version}/{arch}.img",
        official_url=f"https://cloud-images.test/{version}/{arch}.img", checksum_algo="sha256",
        checksum=checksum or f"{version}-{arch}", disk_format="qcow2", min_disk=0, min_ram=0,
        metadata={"architecture": arch}, compression=compression, signed_by=signed_by)


def obj(version, arch=X86, checksum=None, **meta):
    """An object imgsync wrote for ``rel(version, arch)``, read back."""
    release = rel(version, arch, checksum)
    return layout.image(layout.key(release), 10, {**layout.metadata(release), **meta},
                        f"http://store.test/c/{layout.key(release)}")


def test_names_follow_openstack_image_manager():
    assert layout.key(rel("20240423")) == "ubuntu-24.04/20240423-ubuntu-24.04.qcow2"
    assert (layout.key(rel("20240423", ARM))
            == "ubuntu-24.04-aarch64/20240423-ubuntu-24.04-aarch64.qcow2")


def test_metadata_reads_back_as_the_image_record():
    release = rel("7", signed_by="ABCD")
    meta = layout.metadata(release, {"sha512": "s5", "md5": "weak"})
    assert "." not in "".join(meta) and "md5" not in meta and meta["sha512"] == "s5"
    image = layout.image("k", 3, meta, "http://u/k")
    assert (image["imgsync.version"], image["imgsync.sha256"], image["imgsync.signed_by"],
            image["imgsync.url"], image["imgsync.mirror_url"], image["object"]) == (
        "7", "7-x86_64", "ABCD", release.official_url, "http://u/k", "k")


def test_objects_imgsync_did_not_write_are_not_images():
    assert layout.image("k", 1, {"imgsync-version": "7"}, "u") is None
    assert layout.image("k", 1, {"source": "imgsync"}, "u") is None


def rows(actions):
    return [(a.kind.value, a.version, a.architecture, a.image_id, a.depends_on)
            for a in actions]


CASES = {
    "nothing new: nothing to upload": (
        [rel("3")], [obj("3"), obj("2")], 3,
        [("up-to-date", "3", X86, layout.key(rel("3")), ())]),
    "a new build is uploaded; the oldest beyond keep deleted once it is in": (
        [rel("4")], [obj("3"), obj("2"), obj("1")], 3,
        [("upload", "4", X86, "", ()),
         ("delete", "1", X86, layout.key(rel("1")), ("upload 4 (x86_64)",))]),
    "the same name with other bytes is uploaded again": (
        [rel("3")], [obj("3", checksum="other")], 3,
        [("upload", "3", X86, "", ())]),
    "rotation per architecture; an architecture without uploads deletes at once": (
        [rel("4")], [obj("3"), obj("2", ARM), obj("1", ARM)], 1,
        [("upload", "4", X86, "", ()),
         ("delete", "1", ARM, layout.key(rel("1", ARM)), ()),
         ("delete", "3", X86, layout.key(rel("3")), ("upload 4 (x86_64)",))]),
    "a build upstream still lists is never deleted": (
        [rel("4"), rel("1")], [obj("3"), obj("2"), obj("1")], 1,
        [("upload", "4", X86, "", ()),
         ("up-to-date", "1", X86, layout.key(rel("1")), ()),
         ("delete", "2", X86, layout.key(rel("2")), ("upload 4 (x86_64)",)),
         ("delete", "3", X86, layout.key(rel("3")), ("upload 4 (x86_64)",))]),
}


@pytest.mark.parametrize("name", CASES)
def test_plan(name):
    releases, objects, keep, expected = CASES[name]
    assert rows(mirror_plan.plan(releases, objects, keep)) == expected


def test_an_old_build_replayed_under_a_new_name_is_refused():
    with pytest.raises(exceptions.RefusedBuild, match="object ubuntu-24.04/3-"):
        mirror_plan.plan([rel("4", checksum="3-x86_64")], [obj("3")], 3)


def test_a_dropped_signature_is_refused_once_the_objects_are_signed():
    signed = obj("3", **{"imgsync-signed-by": "ABCD"})
    with pytest.raises(exceptions.RefusedBuild, match="no valid signature"):
        mirror_plan.plan([rel("4")], [signed], 3)
    assert mirror_plan.plan([rel("4")], [signed], 3, allow_unsigned=True)


@pytest.mark.parametrize(("chunks", "size", "expected"), [
    ([b"abc", b"defg", b"h"], 3, [b"abc", b"def", b"gh"]),
    ([b"", b"abcdef", b""], 3, [b"abc", b"def"]),
    ([b"ab", b"cd"], 10, [b"abcd"]),
    ([], 4, []),
])
def test_parts(chunks, size, expected):
    assert [b"".join(part) for part in upload.parts(chunks, size)] == expected


class FakeStore:
    kind, part_size = "fake", 4

    def __init__(self, fail_at=None):
        self.fail_at, self.log = fail_at, []

    def begin(self, key, metadata):
        self.log.append(("begin", key, dict(metadata)))
        return self

    def part(self, chunks):
        data = b"".join(chunks)
        if self.fail_at == len(self.log):
            raise exceptions.MirrorError("the store refused")
        self.log.append(("part", data))

    def complete(self, metadata):
        self.log.append(("complete", dict(metadata)))

    def abort(self):
        self.log.append(("abort",))


def body(data, fail=False):
    yield data[:5]
    if fail:
        raise exceptions.ChecksumMismatch("u", "sha256", "a", "b")
    yield data[5:]


def test_an_object_appears_only_after_the_whole_verified_body():
    store = FakeStore()
    target = upload.MirrorUploader(store).begin(rel("3"), "k", None, "fake")
    target.send(body(b"0123456789"))
    target.finish(proof.Sent(10, {"sha256": "3-x86_64", "sha512": "s5"}, "qcow2", 10))
    assert [entry[0] for entry in store.log] == ["begin", "part", "part", "part", "complete"]
    assert b"".join(e[1] for e in store.log if e[0] == "part") == b"0123456789"
    assert store.log[0][2]["sha256"] == "3-x86_64"   # known before: upstream's own bytes
    assert store.log[-1][1]["sha512"] == "s5"


def test_a_compressed_release_claims_no_digest_before_its_bytes_are_seen():
    store = FakeStore()
    upload.MirrorUploader(store).begin(rel("3", compression="bz2"), "k", None, "fake")
    assert "sha256" not in store.log[0][2] and store.log[0][2]["imgsync-sha256"]


@pytest.mark.parametrize("fail_at", [None, 2])
def test_a_failed_body_or_store_aborts_and_never_completes(fail_at):
    store = FakeStore(fail_at)
    target = upload.MirrorUploader(store).begin(rel("3"), "k", None, "fake")
    with pytest.raises(exceptions.ImgsyncError), target.aborting():
        target.send(body(b"0123456789", fail=fail_at is None))
    assert store.log[-1] == ("abort",)
    assert not any(entry[0] == "complete" for entry in store.log)


def test_an_upload_is_abandoned_once():
    store = FakeStore()
    target = upload.MirrorUploader(store).begin(rel("3"), "k", None, "fake")
    target.abort()
    target.abort()   # the fan-out and the dropped target's own thread
    assert store.log.count(("abort",)) == 1
