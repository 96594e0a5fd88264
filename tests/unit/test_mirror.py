"""The object-store mirror, without a store: names, metadata read back, the planner as a
table, the cutting into parts, and an upload's abort on every failure."""

import dataclasses
import datetime
import json
import urllib.parse

import pytest
import requests

from imgsync import exceptions
from imgsync.engine import mirror_plan
from imgsync.mirror import layout
from imgsync.mirror import swift
from imgsync.mirror import target
from imgsync.mirror import upload
from imgsync.ops import catalog
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
    assert "imgsync-signed-by" in meta and "image-build-date" in meta   # no '_' in names
    image = layout.image(layout.key(release), 3, meta, "http://u/k")
    assert (image["imgsync.version"], image["imgsync.sha256"], image["imgsync.signed_by"],
            image["imgsync.url"], image["imgsync.mirror_url"], image["image_build_date"]) == (
        "7", "7-x86_64", "ABCD", release.official_url, "http://u/k", "2024-04-23")


def test_objects_imgsync_did_not_write_are_not_images():
    release = rel("7")
    meta = layout.metadata(release)
    assert layout.image(layout.key(release), 1, {"imgsync-version": "7"}, "u") is None
    assert layout.image(layout.key(release), 1, {"source": "imgsync"}, "u") is None
    # imgsync's metadata copied with the object under another name (a backup, say)
    assert layout.image("ubuntu-24.04/backup-of-7.qcow2", 1, meta, "u") is None
    assert layout.image("ubuntu-24.04-minimal/7-ubuntu-24.04-minimal.qcow2", 1, meta,
                        "u") is None


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


class RacingStore(FakeStore):
    """A store during whose part or completion the fan-out aborts the upload (an
    interruption, or the target dropped for falling behind)."""

    def __init__(self, during):
        super().__init__()
        self.during, self.target = during, None

    def part(self, chunks):
        super().part(chunks)
        if self.during == "part":
            self.target.abort()

    def complete(self, metadata):
        if self.during == "complete":
            self.target.abort()
        super().complete(metadata)


def test_a_part_sent_while_the_upload_was_aborted_is_removed_and_ends_the_upload():
    store = RacingStore("part")
    store.target = upload.MirrorUploader(store).begin(rel("3"), "k", None, "fake")
    with pytest.raises(exceptions.MirrorError, match="abandoned"):
        store.target.send(body(b"0123456789"))
    assert [e[0] for e in store.log] == ["begin", "part", "abort", "abort"]
    with pytest.raises(exceptions.MirrorError, match="abandoned"):
        store.target.finish(proof.Sent(10, {}, "qcow2", 10))
    assert not any(entry[0] == "complete" for entry in store.log)


def test_an_upload_being_completed_is_not_aborted():
    store = RacingStore("complete")
    store.target = upload.MirrorUploader(store).begin(rel("3"), "k", None, "fake")
    store.target.send(body(b"0123456789"))
    store.target.finish(proof.Sent(10, {}, "qcow2", 10))
    store.target.abort()
    assert [e[0] for e in store.log][-1] == "complete" and ("abort",) not in store.log


class FakeSwift:
    """openstacksdk's object-store proxy, as SwiftStore calls it: answers by rule."""

    def __init__(self, objects=None):
        self.calls, self.objects, self.bulk = [], dict(objects or {}), None

    def get_endpoint(self):
        return "http://swift.test/v1/KEY_p"

    def request(self, path, method, raise_exc=False, params=None, headers=None, data=None,
                **retries):
        self.calls.append((method, urllib.parse.unquote(path), dict(params or {})))
        if data is not None and not isinstance(data, str):
            data = b"".join(data)
        name = urllib.parse.unquote(path).split("/", 1)[1]
        response = requests.Response()
        response.status_code, response.headers["Etag"] = 201, '"e"'
        if method == "PUT":
            self.objects[name] = data
        elif method == "DELETE" and params:
            response.status_code, response._content = 200, json.dumps(
                self.bulk or {"Response Status": "200 OK", "Errors": []}).encode()
        elif method == "DELETE":
            response.status_code = 204 if self.objects.pop(name, None) is not None else 404
        elif method == "GET" and name in self.objects:
            response.status_code, response._content = 200, self.objects[name].encode()
            response.headers["X-Static-Large-Object"] = "True"
        else:
            response.status_code = 404
        return response


def test_swift_writes_the_manifest_last_and_removes_the_segments_it_replaces():
    old = [{"path": "/c/.imgsync-segments/k/old/00000000"}]
    proxy = FakeSwift({"k": json.dumps(old), ".imgsync-segments/k/old/00000000": b"x"})
    store = swift.SwiftStore(proxy, "c", 4)
    target = upload.MirrorUploader(store).begin(rel("3"), "k", None, "swift")
    target.send(body(b"0123456789"))
    assert "k" in proxy.objects and proxy.objects["k"] == json.dumps(old)   # not yet
    target.finish(proof.Sent(10, {"sha512": "s5"}, "qcow2", 10))
    manifest = json.loads(proxy.objects["k"])
    assert [(m["path"].rsplit("/", 1)[1], m["size_bytes"]) for m in manifest] == [
        ("00000000", 4), ("00000001", 4), ("00000002", 2)]
    assert ".imgsync-segments/k/old/00000000" not in proxy.objects
    put = [c for c in proxy.calls if c[0] == "PUT"]
    assert put[-1][2] == {"multipart-manifest": "put"}


def test_swift_abort_removes_every_segment_also_one_stored_after_an_abort():
    proxy = FakeSwift()
    store = swift.SwiftStore(proxy, "c", 4)
    target = upload.MirrorUploader(store).begin(rel("3"), "k", None, "swift")
    target.upload.part([b"abcd"])
    target.abort()              # the fan-out, while the next segment is on its way
    target.upload.part([b"efgh"])   # that segment, stored after the abort
    target.abort()              # the upload's own thread, when its data ends
    assert len(target.upload.segments) == 2
    assert not [name for name in proxy.objects if name.startswith(".imgsync-segments/")]


def test_swift_rotation_fails_when_a_segment_could_not_be_deleted():
    proxy = FakeSwift()
    proxy.bulk = {"Response Status": "400 Bad Request", "Errors": [["/c/seg", "409"]]}
    with pytest.raises(exceptions.MirrorError, match="could not delete k"):
        swift.SwiftStore(proxy, "c", 4).delete("k")


class ListedStore:
    kind, part_size = "fake", 4

    def __init__(self, objects):
        self._objects = objects

    def objects(self, prefix):
        return [o for o in self._objects if o[0].startswith(prefix)]


def test_the_mirror_lists_only_its_own_instance_under_a_shared_prefix():
    mine, minimal = rel("7"), dataclasses.replace(rel("7"), distro="ubuntu-24.04-minimal")
    arm = rel("7", ARM)
    store = ListedStore([(layout.key(r), 1, layout.metadata(r)) for r in (mine, minimal, arm)]
                        + [("ubuntu-24.04/notes.txt", 1, {})])
    found = target.Mirror(store, 3, "https://cdn.test/images/").images("ubuntu-24.04")
    assert sorted(i["object"] for i in found) == sorted([layout.key(mine), layout.key(arm)])
    assert found[0]["imgsync.mirror_url"] == f"https://cdn.test/images/{found[0]['object']}"


def test_the_catalog_names_an_object_only_when_it_holds_the_same_build():
    objects = [obj("3"), obj("2", checksum="an older build of 2")]
    images = [{"imgsync.distro": "ubuntu-24.04", "imgsync.version": v, "architecture": X86,
               "imgsync.sha256": f"{v}-x86_64", "id": v} for v in ("3", "2", "1")]
    urls = [i.get("imgsync.mirror_url") for i in catalog.with_mirror(images, objects)]
    assert urls == [f"http://store.test/c/{layout.key(rel('3'))}", None, None]


@pytest.mark.parametrize(("config", "error"), [
    ("[glance]\nenabled = false\n", "[glance] enabled = false and no [mirror] store"),
    ("[glance]\nenabled = false\n[mirror]\nstore = s3\ns3_access_key = a\ns3_secret_key = s3cr3t\n",
     "[mirror] store = s3 needs [mirror] s3_endpoint"),
    ("[glance]\nenabled = false\n[mirror]\nstore = swift\n",
     "[mirror] store = swift needs credentials: set [mirror] cloud"),
])
def test_a_mirror_configured_wrong_is_a_configuration_error(run, tmp_path, config, error):
    code, out, err = run(f"[DEFAULT]\ndistributions = cirros\nlock_path = {tmp_path}\n"
                         + config, "sync")
    assert code == 2 and error in err and "s3cr3t" not in out + err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
