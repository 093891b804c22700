"""Where the client finds its service and credentials: arguments first, then the environment,
then a small INI file.

=====================  ==========================  =========================================
Setting                Environment                 ``client.conf`` key (section ``[client]``)
=====================  ==========================  =========================================
service URL            ``CONDOR_SOAP_URL``         ``url``
HTTP Basic user        ``CONDOR_SOAP_USER``        ``user``
its password           ``CONDOR_SOAP_PASSWORD``    ``password``
bearer token           ``CONDOR_SOAP_TOKEN``       ``token``
client certificate     ``CONDOR_SOAP_CERT``        ``cert`` (and ``key`` if separate)
CA bundle / no check   ``CONDOR_SOAP_CA``          ``ca`` / ``verify = false``
timeout (seconds)      ``CONDOR_SOAP_TIMEOUT``     ``timeout``
job owner              ``CONDOR_SOAP_OWNER``       ``owner``
=====================  ==========================  =========================================

The file is ``$CONDOR_SOAP_CONFIG``, else ``$XDG_CONFIG_HOME/condor-soap/client.conf``
(``~/.config/condor-soap/client.conf``). A file holding a password or token that others may
read is refused, as ssh refuses such a key.
"""
from __future__ import annotations

import configparser
import getpass
import os
import stat
from dataclasses import dataclass
from typing import Optional, Union

from condor_soap.client.transport import Endpoint

DEFAULT_URL = "http://127.0.0.1:8080/"
ENVIRONMENT = {"url": "CONDOR_SOAP_URL", "user": "CONDOR_SOAP_USER", "password": "CONDOR_SOAP_PASSWORD",
               "token": "CONDOR_SOAP_TOKEN", "cert": "CONDOR_SOAP_CERT", "key": "CONDOR_SOAP_KEY",
               "ca": "CONDOR_SOAP_CA", "timeout": "CONDOR_SOAP_TIMEOUT", "owner": "CONDOR_SOAP_OWNER"}
KEYS = (*ENVIRONMENT, "verify")
SECRETS = ("password", "token")


def config_path() -> str:
    """The client configuration file in use (it need not exist)."""
    if os.environ.get("CONDOR_SOAP_CONFIG"):
        return os.environ["CONDOR_SOAP_CONFIG"]
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "condor-soap", "client.conf")


def read_config(path: Optional[str] = None) -> dict[str, str]:
    """The ``[client]`` section of the configuration file ({} when there is none)."""
    path = path or config_path()
    if not os.path.exists(path):
        return {}
    parser = configparser.ConfigParser(interpolation=None)
    with open(path, encoding="utf-8") as f:
        parser.read_file(f)
    values = dict(parser["client"]) if parser.has_section("client") else {}
    unknown = set(values) - set(KEYS)
    if unknown:
        raise ValueError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))} (known: {', '.join(KEYS)})")
    if any(k in values for k in SECRETS) and os.stat(path).st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ValueError(f"{path} holds a password or token but others may read it: chmod 600 {path}")
    return values


@dataclass
class Settings:
    """Resolved connection settings (:func:`resolve`)."""

    url: str = DEFAULT_URL
    user: Optional[str] = None
    password: Optional[str] = None
    token: Optional[str] = None
    cert: Union[str, tuple[str, str], None] = None
    verify: Union[bool, str] = True
    timeout: float = 300.0
    owner: Optional[str] = None

    def endpoint(self, retry_for: float = 30.0) -> Endpoint:
        return Endpoint(self.url, user=self.user, password=self.password, token=self.token, cert=self.cert,
                        verify=self.verify, timeout=self.timeout, retry_for=retry_for)

    def job_owner(self) -> Optional[str]:
        """The ``Owner`` to put in job templates: the one given, the HTTP Basic user, nothing
        with a token or a certificate (the service takes the user it maps them to), else
        (anonymous) the local user name."""
        if self.owner:
            return self.owner
        if self.user:
            return self.user
        return None if self.token or self.cert else getpass.getuser()


def resolve(url: Optional[str] = None, *, user: Optional[str] = None, password: Optional[str] = None,
            token: Optional[str] = None, cert: Union[str, tuple[str, str], None] = None,
            verify: Union[bool, str, None] = None, timeout: Optional[float] = None, owner: Optional[str] = None,
            config: Optional[str] = None) -> Settings:
    """Settings from the arguments given, else the environment, else the configuration file.

    The first place naming a user or a token decides how to authenticate; a user's password
    is the first one found in a place that names no other user.
    """
    file_values = read_config(config)

    def source(values: dict[str, Optional[str]]) -> dict[str, str]:
        return {k: v for k, v in values.items() if v not in (None, "")}

    given = source({"url": url, "user": user, "password": password, "token": token,
                    "owner": owner, "timeout": None if timeout is None else str(timeout)})
    env = source({k: os.environ.get(v) for k, v in ENVIRONMENT.items()})
    layers = [given, env, file_values]
    pick = lambda key: next((layer[key] for layer in layers if key in layer), None)  # noqa: E731
    credentials = next((layer for layer in layers if "user" in layer or "token" in layer), {})
    user = credentials.get("user")
    password = next((layer["password"] for layer in layers
                     if "password" in layer and layer.get("user", user) == user), None) if user else None
    settings = Settings(url=pick("url") or DEFAULT_URL, owner=pick("owner"), user=user, password=password,
                        token=credentials.get("token"))
    if timeout is not None or pick("timeout"):
        settings.timeout = float(timeout if timeout is not None else pick("timeout"))  # type: ignore[arg-type]
    if cert is not None:
        settings.cert = cert
    else:
        chosen = env if "cert" in env else file_values
        if chosen.get("cert"):
            settings.cert = (chosen["cert"], chosen["key"]) if chosen.get("key") else chosen["cert"]
    if verify is not None:
        settings.verify = verify
    elif pick("ca"):
        settings.verify = pick("ca")  # type: ignore[assignment]
    elif file_values.get("verify", "").strip().lower() in ("false", "no", "0", "off"):
        settings.verify = False
    if settings.user and settings.token:
        raise ValueError("both a user and a token are set; keep one")
    return settings
