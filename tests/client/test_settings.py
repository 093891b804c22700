"""Where the client finds its service and credentials: arguments, environment, client.conf."""
from __future__ import annotations

import getpass

import pytest

from condor_soap.client.settings import DEFAULT_URL, config_path, read_config, resolve


def write(path, text: str, mode: int = 0o600):
    path.write_text(text)
    path.chmod(mode)
    return str(path)


def test_defaults_and_owner():
    found = resolve()
    assert (found.url, found.user, found.token, found.verify, found.timeout) == (DEFAULT_URL, None, None, True, 300.0)
    assert found.job_owner() == getpass.getuser()  # anonymous: the local user
    assert resolve(user="alice", password="x").job_owner() == "alice"
    assert resolve(token="t").job_owner() is None  # the service takes the token's user
    assert resolve(token="t", owner="svc").job_owner() == "svc"


def test_arguments_then_environment_then_file(monkeypatch, tmp_path):
    conf = write(tmp_path / "client.conf", "[client]\nurl = http://file/\nuser = bob\npassword = bob-pw\n"
                                           "timeout = 5\nca = /file/ca.pem\ncert = /file/c.pem\nkey = /file/k.pem\n")
    monkeypatch.setenv("CONDOR_SOAP_CONFIG", conf)
    found = resolve()
    assert (found.url, found.user, found.password, found.timeout) == ("http://file/", "bob", "bob-pw", 5.0)
    assert (found.verify, found.cert) == ("/file/ca.pem", ("/file/c.pem", "/file/k.pem"))
    monkeypatch.setenv("CONDOR_SOAP_URL", "http://env/")
    monkeypatch.setenv("CONDOR_SOAP_TOKEN", "env-token")
    found = resolve()
    assert (found.url, found.user, found.password, found.token) == ("http://env/", None, None, "env-token")
    found = resolve("http://arg/", user="alice", timeout=2)
    # alice's password is not bob's: a place naming another user lends it none
    assert (found.url, found.user, found.password, found.token, found.timeout) == ("http://arg/", "alice", None, None, 2)
    monkeypatch.setenv("CONDOR_SOAP_PASSWORD", "env-pw")
    assert resolve(user="alice").password == "env-pw"
    assert resolve(verify=False).verify is False


def test_config_file_checks(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("CONDOR_SOAP_CONFIG")
    assert config_path() == str(tmp_path / "condor-soap" / "client.conf")
    assert read_config() == {}
    with pytest.raises(ValueError, match="unknown setting.*pasword"):
        read_config(write(tmp_path / "typo.conf", "[client]\npasword = x\n"))
    with pytest.raises(ValueError, match="chmod 600"):
        read_config(write(tmp_path / "open.conf", "[client]\ntoken = x\n", 0o644))
    assert read_config(write(tmp_path / "open-url.conf", "[client]\nurl = http://x/\n", 0o644)) == {"url": "http://x/"}
    assert resolve(config=write(tmp_path / "v.conf", "[client]\nverify = false\n")).verify is False
    with pytest.raises(ValueError, match="both a user and a token"):
        resolve(config=write(tmp_path / "both.conf", "[client]\nuser = a\ntoken = t\n"))
