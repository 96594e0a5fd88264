"""The ``[mirror]`` group: the object store imgsync mirrors verified images into."""

from oslo_config import cfg

GROUP = "mirror"
MIB = 1 << 20

opts = [
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
