"""Building drivers on a throw-away configuration for unit tests."""

from oslo_config import cfg

from imgsync import conf as imgsync_conf
from imgsync.upstream import http as upstream


def listing(*names):
    return "<html><body><pre>" + "".join(f'<a href="{n}">{n}</a>\n' for n in names) + "</pre>"


def make_driver(cls, name, base, **overrides):
    """A driver on ``base``; signatures are off unless ``signature`` says otherwise (the
    layout tests mock no signature files; test_signatures.py covers them)."""
    conf = cfg.ConfigOpts()
    imgsync_conf.register_opts(conf, {name: cls})
    conf([], default_config_files=[])
    conf.set_override("base_url", base, group=name)
    overrides.setdefault("signature", "off")
    for key, value in overrides.items():
        conf.set_override(key, value, group=name)
    return cls(name, conf[name], upstream.Upstream(5, 0))


LAST_MODIFIED = {"Last-Modified": "Tue, 14 Oct 2025 08:00:00 GMT"}
