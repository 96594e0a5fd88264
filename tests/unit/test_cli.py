import importlib.metadata

import pytest

from imgsync import cli
from imgsync import config_check
from imgsync.engine import sync as sync_mod
from imgsync.glance import client as glance_mod


@pytest.mark.parametrize("text,fragment", [
    ("[DEFAULT]\nvisibility = bogus\n", "[DEFAULT] visibility"),
    ("[DEFAULT]\nproperties = a=b,c\n", "[DEFAULT] properties"),
    ("[ubuntu-24.04]\nbase_url = ftp://x/\n", "[ubuntu-24.04] base_url"),
    ("[ubuntu-24.04]\nversions = 0\n", "[ubuntu-24.04] versions"),
    ("[DEFAULT\n", "Failed to parse"),
])
def test_invalid_values_exit_2_with_one_line(run, text, fragment):
    code, out, err = run(text, "sync")
    assert code == 2
    assert fragment in err and len(err.strip().splitlines()) == 1


def test_empty_distributions(run):
    code, _, err = run("[DEFAULT]\n", "sync")
    assert code == 2 and "[DEFAULT] distributions is empty" in err


def test_unknown_distribution(run):
    code, _, err = run("[DEFAULT]\ndistributions = ubuntu-24.04,plan9\n", "sync")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "[plan9] driver is not set, and no installed driver has this name" in err
    assert "ubuntu-22.04" in err


@pytest.mark.parametrize("names,fragment", [
    ("glance", "glance is a section of imgsync's own configuration"),
    ("DEFAULT", "DEFAULT is a section of imgsync's own configuration"),
    ("../etc", "'../etc' is not a valid instance name"),
])
def test_instance_names_that_cannot_be_groups_exit_2(run, names, fragment):
    code, _, err = run(f"[DEFAULT]\ndistributions = {names}\n", "check")
    assert code == 2 and fragment in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("text,fragment", [
    ("[mirror-b]\ndriver = plan9\n", "[mirror-b] driver = plan9 is not installed"),
    ("[ubuntu-24.04]\ndriver = debian-13\n",
     "[ubuntu-24.04] driver = debian-13: ubuntu-24.04 is an installed driver's name"),
])
def test_bad_instance_drivers_exit_2(run, text, fragment):
    code, _, err = run("[DEFAULT]\ndistributions = ubuntu-24.04,mirror-b\n" + text, "check")
    assert code == 2 and fragment in err and len(err.strip().splitlines()) == 1


def test_instances_of_one_driver_side_by_side(run, requests_mock):
    for site, serial in (("a", "20240423"), ("b", "20240501")):
        root = f"http://{site}.test/ubuntu/releases/noble/"
        requests_mock.get(root, text=f'<a href="release-{serial}/">x</a>')
        requests_mock.get(f"{root}release-{serial}/SHA256SUMS",
                          text=f"{site * 64} *ubuntu-24.04-server-cloudimg-amd64.img\n")
    code, out, err = run(
        "[DEFAULT]\ndistributions = ubuntu-a,ubuntu-b\n"
        "[ubuntu-a]\ndriver = ubuntu-24.04\nbase_url = http://a.test/ubuntu/\n"
        "signature = off\n"
        "[ubuntu-b]\ndriver = ubuntu-24.04\nbase_url = http://b.test/ubuntu/\n"
        "signature = off\n", "check")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["INSTANCE", "VERSION", "BUILT", "URL"]
    assert lines[1].split()[:2] == ["ubuntu-a", "20240423"]
    assert lines[2].split()[:2] == ["ubuntu-b", "20240501"]
    code, out, _ = run("[DEFAULT]\ndistributions = ubuntu-a\n", "list-distros")
    assert code == 0 and "ubuntu-24.04" in out


def test_no_glance_credentials(run):
    code, _, err = run("[DEFAULT]\ndistributions = ubuntu-24.04\n", "sync")
    assert code == 2 and "[glance] cloud" in err and "[keystone_auth]" in err


def test_missing_keystone_option(run):
    code, _, err = run("[DEFAULT]\ndistributions = ubuntu-24.04\n"
                       "[keystone_auth]\nauth_type = password\nusername = u\n", "sync")
    assert code == 2 and "[keystone_auth]" in err and "auth_url" in err


def test_unknown_cloud(run, tmp_path, monkeypatch):
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text("clouds: {}\n")
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))
    code, _, err = run("[DEFAULT]\ndistributions = ubuntu-24.04\n[glance]\ncloud = nope\n",
                       "sync")
    assert code == 2 and "[glance] cloud" in err and "nope" in err


def test_missing_config_file(capsys):
    assert cli.main(["--config-file", "/nonexistent/imgsync.conf", "sync"]) == 2
    assert "/nonexistent/imgsync.conf" in capsys.readouterr().err


def test_list_distros(run):
    code, out, _ = run("", "list-distros")
    assert code == 0
    assert "ubuntu-24.04" in out and "Ubuntu 24.04" in out
    assert "https://cloud-images.ubuntu.com/" in out


def test_a_directory_as_config_file_exits_2(tmp_path, capsys):
    assert cli.main(["--config-file", str(tmp_path), "sync"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"imgsync: --config-file {tmp_path} is a directory "
                   "(use --config-dir for a directory)"]


def test_a_file_as_config_dir_exits_2(tmp_path, capsys):
    path = tmp_path / "imgsync.conf"
    path.write_text("")
    assert cli.main(["--config-dir", str(path), "sync"]) == 2
    assert f"--config-dir {path} is not a directory" in capsys.readouterr().err


def test_an_unusable_lock_path_exits_2(run, tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setattr(glance_mod, "keystone_session", lambda conf: None)
    monkeypatch.setattr(glance_mod, "connect",
                        lambda conf, compute, cloud, region, session: None)
    monkeypatch.setattr(glance_mod, "image_proxy", lambda connection: None)
    monkeypatch.setattr(glance_mod.Glance, "endpoint", lambda self: "http://glance")
    code, out, err = run("[DEFAULT]\ndistributions = ubuntu-24.04\n"
                         f"lock_path = {blocker}/locks\n", "sync")
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert lines[-1] == f"imgsync: [DEFAULT] lock_path {blocker}/locks: Not a directory"
    assert "Traceback" not in err


def test_a_directory_among_config_dir_files_exits_2(tmp_path, capsys):
    (tmp_path / "broken.conf").mkdir()
    assert cli.main(["--config-dir", str(tmp_path), "sync"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "broken.conf" in err[0] and "Traceback" not in err[0]


def test_a_failed_driver_exits_1_and_the_others_still_run(run, requests_mock, monkeypatch):
    from tests.unit import fake_glance
    monkeypatch.setattr(glance_mod, "keystone_session", lambda conf: None)
    monkeypatch.setattr(glance_mod, "connect",
                        lambda conf, compute, cloud, region, session: None)
    monkeypatch.setattr(glance_mod, "image_proxy", lambda connection: fake_glance.FakeProxy())
    monkeypatch.setattr(glance_mod.Glance, "endpoint", lambda self: "http://glance.test")
    requests_mock.get("http://a.test/ubuntu/releases/noble/", status_code=503)
    requests_mock.get("http://b.test/ubuntu/releases/jammy/", text='<a href="release-1/">')
    code, out, err = run(
        "[DEFAULT]\ndistributions = ubuntu-24.04,ubuntu-22.04\nhttp_retries = 0\n"
        "[ubuntu-24.04]\nbase_url = http://a.test/ubuntu/\n"
        "[ubuntu-22.04]\nbase_url = http://b.test/ubuntu/\n", "sync")
    assert code == 1, out + err
    rows = [line.split()[:2] for line in out.splitlines()[1:-1]]   # header, summary
    assert rows == [["ubuntu-24.04", "failed"], ["ubuntu-22.04", "failed"]]
    assert out.splitlines()[0].split()[:2] == ["INSTANCE", "ACTION"]
    assert out.splitlines()[-1].startswith("2 actions (2 failed); 0.0 MiB transferred in ")
    assert "answered HTTP 503" in out and "build directories" in out


def test_version_is_the_packages(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--version"])
    assert capsys.readouterr().out.strip() == importlib.metadata.version("imgsync")


def test_global_options_may_follow_the_sub_command():
    assert cli._globals_first(["sync", "--config-file", "a.conf", "--dry-run", "--debug"]) == [
        "--config-file", "a.conf", "--debug", "sync", "--dry-run"]
    assert cli._globals_first(["--config-file", "sync", "check", "--config-dir=d"]) == [
        "--config-file", "sync", "--config-dir=d", "check"]
    assert cli._globals_first(["--help"]) == ["--help"]


def test_list_distros_sorts_naturally(capsys):
    assert cli.main(["list-distros"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert names.index("almalinux-8") < names.index("almalinux-9") < names.index("almalinux-10")


def test_unknown_options_and_groups_warn_with_a_suggestion_or_fail_strictly(tmp_path, capsys):
    config = tmp_path / "imgsync.conf"
    config.write_text("[DEFAULT]\ndistributions = cirros\nhttp_retires = 2\n"
                      "[cirros]\nbase_ulr = http://127.0.0.1/\n[ubunut-24.04]\nversions = 1\n"
                      "[keystone_auth]\nauth_type = password\nusername = u\n")
    assert cli.main(["--config-file", str(config), "--strict-config", "sync"]) == 2
    error = capsys.readouterr().err
    assert "unknown option [DEFAULT] http_retires (did you mean http_retries?)" in error
    assert "(did you mean http_retries?) (--strict-config); and 2 more" in error
    assert cli.main(["--config-file", str(config), "sync"]) == 2   # no auth_url
    warned = capsys.readouterr().err
    assert "unknown option [cirros] base_ulr (did you mean base_url?)" in warned
    assert "unknown group [ubunut-24.04] (did you mean ubuntu-24.04?)" in warned
    assert "username" not in warned   # the password plugin's option
    assert "imgsync: [keystone_auth]: Auth plugin requires parameters" in warned


def test_a_run_without_any_configuration_file_says_so(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(config_check, "files", lambda conf: [])
    assert cli.main(["sync"]) == 2
    assert "no configuration file was read" in capsys.readouterr().err


def test_old_option_names_and_unused_instances_are_not_unknown(tmp_path, capsys):
    config = tmp_path / "imgsync.conf"
    config.write_text("[DEFAULT]\ndistributions = cirros\nlogfile = /dev/null\n"
                      "[mirror-b]\ndriver = generic\n"
                      "[keystone_auth]\nauth_type = password\ntenant_name = t\n")
    assert cli.main(["--config-file", str(config), "--strict-config", "sync"]) == 2
    error = capsys.readouterr().err
    assert "unknown option" not in error and "unknown group" not in error
    assert "[keystone_auth]" in error   # the one error: no auth_url


def test_a_skip_says_why_in_the_table():
    from imgsync.engine import executor
    from imgsync.ops import report
    line = report.row(executor.Result("ubuntu", "skipped", "2", "x86_64", "U (2)", "i2",
                                      reason="needs the upload 3 (x86_64), which failed"))
    assert line.endswith("U (2) i2 (needs the upload 3 (x86_64), which failed)")


def test_the_regions_of_keystone_auth_share_one_session(run, requests_mock, monkeypatch):
    from keystoneauth1 import session as ks_session

    from tests.unit import fake_glance
    sessions = []

    def connect(conf, compute, cloud, region, session):
        sessions.append((region, session))
    monkeypatch.setattr(glance_mod, "connect", connect)
    monkeypatch.setattr(glance_mod, "image_proxy", lambda connection: fake_glance.FakeProxy())
    monkeypatch.setattr(glance_mod.Glance, "endpoint", lambda self: "http://glance.test")
    requests_mock.get("http://a.test/ubuntu/releases/noble/", status_code=503)
    code, out, err = run(
        "[DEFAULT]\ndistributions = ubuntu-24.04\nhttp_retries = 0\n"
        "[keystone_auth]\nauth_type = password\nauth_url = http://127.0.0.1:5000/v3\n"
        "username = imgsync\npassword = secret\nproject_name = service\n"
        "[glance]\nregion_names = RegionOne,RegionTwo\n"
        "[ubuntu-24.04]\nbase_url = http://a.test/ubuntu/\n", "sync")
    assert code == 1, out + err
    assert [region for region, _ in sessions] == ["RegionOne", "RegionTwo"]
    first, second = (session for _, session in sessions)
    assert isinstance(first, ks_session.Session) and first is second


def test_a_run_imports_no_tooz_without_a_backend_and_no_tqdm_off_a_terminal():
    import subprocess
    import sys
    code = ("import sys, logging\n"
            "from imgsync import cli\nfrom imgsync.pipeline import progress\n"
            "list(progress.track([b'x'], 1, 'label', logging.getLogger(), stream=None))\n"
            "print(sorted(m for m in ('tooz', 'tqdm') if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=60, check=True)
    assert done.stdout.strip() == "[]", done.stderr


def test_release_check_timeout_reaches_the_run(run, monkeypatch):
    from tests.unit import fake_glance
    runs = []
    monkeypatch.setattr(glance_mod, "keystone_session", lambda conf: None)
    monkeypatch.setattr(glance_mod, "connect",
                        lambda conf, compute, cloud, region, session: None)
    monkeypatch.setattr(glance_mod, "image_proxy", lambda connection: fake_glance.FakeProxy())
    monkeypatch.setattr(glance_mod.Glance, "endpoint", lambda self: "http://glance.test")
    monkeypatch.setattr(sync_mod, "run", lambda drivers, syncer, **options: runs.append(options)
                        or [])
    code, out, err = run("[DEFAULT]\ndistributions = ubuntu-24.04\nrelease_check_timeout = 7\n"
                         "[ubuntu-24.04]\nbase_url = http://a.test/ubuntu/\n", "sync")
    assert code == 0, out + err
    assert runs == [{"workers": 1, "release_check_timeout": 7}]
