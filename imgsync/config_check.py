"""Options and groups in the configuration files that imgsync does not know.

oslo.config ignores them silently, so a misspelt ``http_retires`` or ``[ubunut-24.04]``
would change nothing without a word. Each is reported with the closest valid name.
"""

import configparser
import difflib
import os

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

from imgsync import conf as imgsync_conf
from imgsync import options


def files(conf):
    """The configuration files oslo.config read, those of --config-dir included."""
    found = list(conf.config_file or [])
    for directory in conf.config_dir and [conf.config_dir] or []:
        found += sorted(os.path.join(directory, name) for name in os.listdir(directory)
                        if name.endswith(".conf"))
    return [path for path in found if os.path.isfile(path)]


def unknown(conf):
    """One line per unknown group or option in the files read, with a suggestion."""
    problems = []
    groups = {name for name in conf if isinstance(conf[name], cfg.ConfigOpts.GroupAttr)}
    for path in files(conf):
        parser = configparser.RawConfigParser(strict=False, default_section="\0none")
        parser.optionxform = str
        try:
            parser.read(path)
        except configparser.Error:
            continue   # oslo.config has reported what it could not parse
        for section in parser.sections():
            if section == options.COMMON_GROUP:   # the sample's documentation, set nothing
                continue
            if section != "DEFAULT" and section not in groups:
                if not parser.has_option(section, "driver"):   # else an unused instance
                    problems.append(f"{path}: unknown group [{section}]"
                                    f"{_closest(section, groups)}")
                continue
            known = _options(conf, section)
            for option in parser.options(section):
                if option not in known:
                    problems.append(f"{path}: unknown option [{section}] {option}"
                                    f"{_closest(option, known)}")
    return problems


def _options(conf, group):
    """The option names of a group (DEFAULT: those outside any group)."""
    if group == "DEFAULT":
        names = {name for name in conf if not isinstance(conf[name], cfg.ConfigOpts.GroupAttr)}
    else:
        names = set(conf[group])
    for name in list(names):   # the old names oslo.config still reads
        try:
            opt = conf._get_opt_info(name, None if group == "DEFAULT" else group)["opt"]
        except cfg.NoSuchOptError:
            continue
        names.update(d.name.replace("-", "_") for d in opt.deprecated_opts if d.name)
    if group == imgsync_conf.KEYSTONE_AUTH_GROUP and conf[group].auth_type:
        try:   # the auth plugin's own options are registered only when it is loaded
            plugin = ks_loading.get_auth_plugin_conf_options(conf[group].auth_type)
        except Exception:  # an unknown plugin is reported when Glance is reached
            plugin = []
        names.update(name for opt in plugin for name in (
            opt.dest, *(old.name.replace("-", "_") for old in opt.deprecated_opts if old.name)))
    return names


def _closest(name, candidates):
    match = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.75)
    return f" (did you mean {match[0]}?)" if match else ""
