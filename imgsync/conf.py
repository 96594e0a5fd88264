"""imgsync's global configuration options, and the option types the drivers share.

The drivers own the options of their groups (imgsync.upstream.drivers.options); imgsync.options
lists everything for the sample generator.
"""


from keystoneauth1 import loading as ks_loading
from oslo_config import cfg
from oslo_config import types

from imgsync import redact

KEYSTONE_AUTH_GROUP = "keystone_auth"
GLANCE_GROUP = "glance"
NOVA_GROUP = "nova"
COORDINATION_GROUP = "coordination"
MIRROR_GROUP = "mirror"


class KeyValue(types.String):
    """A ``key=value`` string, parsed into a ``(key, value)`` pair."""

    def __init__(self):
        super().__init__(type_name="key=value")

    def __call__(self, value):
        if isinstance(value, tuple):
            return value
        key, sep, val = super().__call__(value).partition("=")
        if not sep or not key.strip():
            raise ValueError(f"expected key=value, found {value!r}")
        return key.strip(), val.strip()


class HttpUrl(types.URI):
    """An absolute http(s) URL (oslo.config's URI type) without query or fragment (paths
    are appended to it), with a one-line error that masks the password, even one the URL
    cannot hold (a space, '#', '?' or '/')."""

    def __init__(self):
        super().__init__(schemes=("http", "https"), type_name="http(s) URL")

    def __call__(self, value):
        try:
            url = super().__call__(value)
            if "?" in url or "#" in url:
                raise ValueError(url)
            return url
        except ValueError:   # not chained: oslo's message quotes the value unmasked
            raise ValueError(
                "expected an http:// or https:// URL without query or fragment (percent-"
                "encode a password's '#', '?', '/', '@' or space), found "
                f"{redact.config_url(value)!r}") from None


class Properties(types.List):
    """A comma-separated list of ``key=value`` pairs, parsed into a dict."""

    def __init__(self):
        super().__init__(item_type=KeyValue(), bounds=False, type_name="list of key=value")

    def __call__(self, value):
        if isinstance(value, dict):
            return value
        return dict(super().__call__(value))

    def _formatter(self, value):
        if isinstance(value, dict):
            return ",".join(f"{k}={v}" for k, v in value.items())
        return super()._formatter(value)


default_opts = [
    cfg.StrOpt("prefix", default="",
               help="Prefix of every image name imgsync creates, e.g. 'imgsync-'. "
                    "Names are '<prefix><display name> (<version>)'."),
    cfg.Opt("properties", type=Properties(), default={},
            help="Glance properties added to every image, as a comma-separated list "
                 "of key=value, e.g. 'hw_qemu_guest_agent=yes,os_type=linux'. Glance's "
                 "core attributes, os_glance_*, source, imgsync.*, image_build_date and "
                 "architecture are reserved."),
    cfg.ListOpt("distributions", default=[],
                help="Drivers to sync (see 'imgsync list-distros'), e.g. "
                     "'ubuntu-22.04,ubuntu-24.04'."),
    cfg.StrOpt("visibility", default="public",
               choices=[("public", "listed for and usable by every project"),
                        ("community", "usable by every project, listed on request"),
                        ("shared", "usable by projects made members of the image"),
                        ("private", "usable by the uploading project only")],
               help="Visibility of the images once they are verified and published."),
    cfg.IntOpt("http_timeout", default=60, min=1,
               help="Seconds to wait for an upstream server to connect or send data."),
    cfg.IntOpt("http_retries", default=3, min=0,
               help="Retries of a failed upstream request (connection errors, 5xx). A "
                    "Retry-After longer than 30 s is cut to 30 s."),
    cfg.IntOpt("max_document_size", default=8, min=1,
               help="Largest listing, checksum, version or signature file imgsync reads, "
                    "in MiB."),
    cfg.IntOpt("document_timeout", default=120, min=1,
               help="Seconds within which a listing, checksum, version or signature file "
                    "must have arrived in full."),
    cfg.IntOpt("min_download_rate", default=16, min=0,
               help="Slowest an image download may be, in KiB/s, averaged over "
                    "http_timeout seconds; a slower one fails. 0: no minimum."),
    cfg.IntOpt("max_image_size", default=64, min=1,
               help="Largest image imgsync downloads or, for compressed images, "
                    "decompresses, in GiB; larger ones fail with a clear error."),
    cfg.StrOpt("upload_method", default="auto",
               choices=[("auto", "glance-direct when Glance offers it, else put"),
                        ("glance-direct", "stage the data, verify it, then import it, so "
                                          "Glance's import plugins run"),
                        ("put", "upload to a hidden private image, verify, then publish"),
                        ("web-download", "Glance fetches the URL itself; verified afterwards "
                                         "against upstream's checksum")],
               help="How image data reaches Glance."),
    cfg.BoolOpt("web_download_unverified", default=False,
                help="Accept web-download for upstreams whose checksum Glance's sha512 "
                     "cannot be compared with (e.g. sha256-only): the data is then not "
                     "verified."),
    cfg.BoolOpt("same_image_id", default=False,
                help="Give each build's image the same id in every target (a random one "
                     "for a new build). Where Glance has the id taken, that target fails "
                     "for the build (it never gets another id)."),
    cfg.IntOpt("pending_grace_period", default=7200, min=0,
               help="Seconds after which an image an interrupted run left pending "
                    "(imgsync.state=pending) is deleted by the next run."),
    cfg.BoolOpt("skip_images_in_use", default=False,
                help="Spare expired images that servers still use (asks Nova, [nova]; "
                     "needs a role that may list all projects' servers)."),
    cfg.StrOpt("lock_path", default="/run/lock/imgsync",
               help="Directory of the per-driver lock files that keep overlapping runs on "
                    "this host from uploading the same image twice."),
    cfg.IntOpt("workers", default=1, min=1, max=32,
               help="How many instances to sync at once, each under its own lock; the "
                    "output keeps the order of 'distributions'. More than 1 needs a Glance "
                    "on a database that takes concurrent writes (MySQL, PostgreSQL)."),
    cfg.IntOpt("release_check_timeout", default=600, min=1,
               help="Seconds from the start of a run within which each instance's upstream "
                    "must have listed its releases; a later one fails, the others sync."),
    cfg.IntOpt("lock_timeout", default=0, min=0,
               help="Seconds a run waits for a driver that another run is syncing; 0 "
                    "skips that driver at once (it is not counted as a failure)."),
    cfg.IntOpt("lock_stale_after", default=6 * 3600, min=60,
               help="Seconds after which a driver whose lock another run still holds is "
                    "reported as failed (exit 1) rather than skipped: that "
                    "run is probably hung."),
    cfg.IntOpt("active_timeout", default=600, min=1,
               help="Seconds to wait for an uploaded image to become active in Glance."),
    cfg.StrOpt("metrics_file",
               help="File where each 'imgsync sync' (not --dry-run) writes Prometheus metrics, for "
                    "node_exporter's textfile collector. Unset: none."),
    cfg.StrOpt("managed_by_tag", default="managed_by_imgsync",
               help="Tag of every image imgsync publishes, as the SCS image metadata "
                    "standard recommends (managed_by_<vendor>); empty: none."),
    cfg.StrOpt("catalog_dir",
               help="Directory where each 'imgsync sync' (not --dry-run) writes "
                    "openstack-image-manager catalog files (<family>.yml). Unset: none."),
]

glance_opts = [
    cfg.BoolOpt("enabled", default=True,
                help="Sync into Glance. False: only into the [mirror] object store, and the "
                     "catalogs from it (Glance left to openstack-image-manager)."),
    cfg.StrOpt("cloud",
               help="Name of a clouds.yaml entry to connect to Glance with. When unset, "
                    "the [keystone_auth] group is used."),
    cfg.ListOpt("clouds", default=[],
                help="clouds.yaml entries to sync into, each a target of its own (in its "
                     "own region_name), instead of [glance] cloud. Each image is downloaded "
                     "once for all targets."),
    cfg.ListOpt("region_names", default=[],
                help="Regions to sync into, each a target of its own (of every cloud in "
                     "'clouds', or of [glance] cloud or [keystone_auth]), instead of "
                     "region_name."),
    cfg.IntOpt("behind_timeout", default=30, min=1,
               help="Seconds a target may take no data while the others do before it is "
                    "dropped and reported failed; keep it below upstream's idle timeout "
                    "(often 60 s)."),
    cfg.IntOpt("api_timeout", default=120, min=1,
               help="Seconds to wait for Keystone or Glance to connect or answer "
                    "([keystone_auth] timeout, when set, wins)."),
]

coordination_opts = [
    cfg.StrOpt("backend_url", secret=True,
               help="tooz backend for locks shared by several hosts, e.g. "
                    "'redis://controller:6379' (install its Python driver too). Unset: "
                    "per-host file locks in lock_path."),
]


mirror_opts = [
    cfg.StrOpt("store",
               choices=[("swift", "OpenStack Swift, through openstacksdk, with the Keystone "
                                  "credentials of Glance or [mirror] cloud"),
                        ("s3", "an S3 API (Ceph RGW, MinIO, AWS), through boto3")],
               help="Object store to mirror every verified image into, as "
                    "<shortname>/<version>-<shortname>.<format> (openstack-image-manager's "
                    "layout), written to the catalogs as mirror_url. Unset: no mirror."),
    cfg.StrOpt("container", default="imgsync-images",
               help="Swift container or S3 bucket of the mirror; created if missing."),
    cfg.BoolOpt("public_read", default=False,
                help="Create the container or bucket readable by anyone (Swift '.r:*', S3 "
                     "'public-read'), so that Glance's web-download and other regions can "
                     "fetch mirror_url; an existing one keeps its ACL."),
    cfg.StrOpt("public_url",
               help="Base URL under which readers fetch the objects, for mirror_url (e.g. "
                    "a CDN); default: the container's URL in the store."),
    cfg.IntOpt("keep_versions", default=3, min=1,
               help="Versions of each image and architecture kept in the mirror (at least "
                    "the instance's 'versions'); older objects imgsync wrote are deleted."),
    cfg.StrOpt("cloud",
               help="Swift: clouds.yaml entry to connect with. Unset: the credentials of "
                    "[glance] cloud, else of [keystone_auth]."),
    cfg.StrOpt("region_name",
               help="Swift: region of the object-store endpoint. Unset: [glance] "
                    "region_name."),
    cfg.IntOpt("segment_size", default=1024, min=1, max=5120,
               help="Swift: size of each segment of an image, in MiB; streamed, not held "
                    "in memory (raised where an image could need more than 1,000)."),
    cfg.URIOpt("s3_endpoint", schemes=("http", "https"),
               help="S3: the endpoint, e.g. https://rgw.example.com."),
    cfg.StrOpt("s3_region", default="us-east-1", help="S3: the region to sign requests for."),
    cfg.StrOpt("s3_access_key", help="S3: the access key id."),
    cfg.StrOpt("s3_secret_key", secret=True, help="S3: the secret key."),
    cfg.StrOpt("s3_addressing_style", default="path", choices=("path", "virtual"),
               help="S3: bucket in the path (RGW, MinIO) or in the host name."),
    cfg.IntOpt("part_size", default=8, min=5, max=5120,
               help="S3: size of each part of a multipart upload, in MiB; one part per "
                    "upload is held in memory (raised where an image could need more than "
                    "10,000 parts)."),
    cfg.IntOpt("timeout", default=120, min=1,
               help="Seconds to wait for the object store to connect or answer."),
]


DRIVER_OPT = cfg.StrOpt(
    "driver",
    help="The driver this instance uses (see 'imgsync list-distros'); default: the one "
         "named like the instance. Lets two instances of one driver (two mirrors, several "
         "generic sites) sync side by side.")


def register_opts(conf, drivers):
    """Register every option imgsync reads, with one group per installed driver."""
    conf.register_opts(default_opts)
    conf.register_opts(glance_opts, group=GLANCE_GROUP)
    conf.register_opts(coordination_opts, group=COORDINATION_GROUP)
    conf.register_opts(mirror_opts, group=MIRROR_GROUP)
    ks_loading.register_adapter_conf_options(conf, GLANCE_GROUP, include_deprecated=False)
    ks_loading.register_adapter_conf_options(conf, NOVA_GROUP, include_deprecated=False)
    ks_loading.register_session_conf_options(conf, KEYSTONE_AUTH_GROUP)
    ks_loading.register_auth_conf_options(conf, KEYSTONE_AUTH_GROUP)
    for name, driver_cls in drivers.items():
        conf.register_opts(driver_cls.opts(), group=name)
