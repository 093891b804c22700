"""Real nginx (Debian) terminating TLS in front of the real service process.

The nginx configuration is examples/nginx/condor-soap.conf itself, with only its ``EDIT``
values (ports, certificate paths) substituted. A throwaway CA made with the openssl CLI signs
the server certificate (127.0.0.1, localhost) and the client certificates; a second CA signs a
look-alike client certificate that must be refused. nginx runs in the foreground as a child
of the tests, with its own prefix, pid, logs and temp paths: the system's nginx service is
never started, stopped or reconfigured.
"""
from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from condor_soap.auth import credentials as cred
from tests.conftest import apt_install
from tests.functional.service_process import ServiceProcess

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "nginx" / "condor-soap.conf"
CLIENT_O = "Example Users"  # client certificates: /O=Example Users/CN=<name>
PASSWORDS = {"bob": "bob-pw"}
# CERTIFICATE_MAPFILE style, against nginx's RFC 2253 $ssl_client_s_dn ("CN=alice,O=Example Users")
CERT_MAP = f'SSL "^CN=([a-z]+),O={CLIENT_O}$" \\1\n'


def _nginx() -> str:
    """The nginx binary, installed from Debian if missing; fails with the reason if it can't be."""
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)
    if found:
        return found
    # never let the package start the system's nginx service (on port 80) as a side effect
    policy = Path("/usr/sbin/policy-rc.d")
    made_policy = not policy.exists()
    if made_policy:
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    try:
        errors = []
        for package in ("nginx-light", "nginx"):  # nginx-light: Debian 12; nginx: Debian 13+
            done = apt_install(package, "nginx")
            if done.returncode == 0:
                break
            errors.append(f"{package}: {done.stderr.strip()[-500:]}")
        else:
            pytest.fail("could not install nginx from Debian: " + "; ".join(errors))
    finally:
        if made_policy:
            policy.unlink()
    found = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.access(found, os.X_OK):
        pytest.fail("apt-get installed nginx but there is no nginx binary")
    return found


def _openssl(*args: str, cwd: Path) -> None:
    done = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)}: {done.stderr}")


def _ca(directory: Path, name: str) -> None:
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "2", "-subj", f"/CN={name} test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)


def _leaf(directory: Path, ca: str, name: str, subject: str, extensions: str) -> tuple[str, str]:
    _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject, cwd=directory)
    (directory / f"{name}.ext").write_text(extensions)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
             "-CAcreateserial", "-days", "2", "-out", f"{name}.crt", "-extfile", f"{name}.ext", cwd=directory)
    return str(directory / f"{name}.crt"), str(directory / f"{name}.key")


@dataclass
class Pki:
    dir: Path
    ca: str                       # the CA nginx trusts for servers and clients
    clients: dict                 # name -> (cert, key)


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> Pki:
    """CA 'condor-soap' (server + clients alice, carol, mallory-unmapped) and CA 'evil' (a
    client certificate with alice's exact subject)."""
    if shutil.which("openssl") is None:
        pytest.fail("the openssl command is needed to make test certificates (apt-get install openssl)")
    d = tmp_path_factory.mktemp("pki")
    _ca(d, "condor-soap")
    _ca(d, "evil")
    _leaf(d, "condor-soap", "server", "/CN=localhost",
          "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
          "keyUsage=critical,digitalSignature\n")
    client_ext = "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n"
    clients = {name: _leaf(d, "condor-soap", name, f"/O={CLIENT_O}/CN={name}", client_ext)
               for name in ("alice", "carol")}
    clients["mallory"] = _leaf(d, "condor-soap", "mallory", "/O=Elsewhere/CN=mallory", client_ext)
    clients["evil-alice"] = _leaf(d, "evil", "evil-alice", f"/O={CLIENT_O}/CN=alice", client_ext)
    # nginx's file names, as in the example: server.crt/.key and client-ca.crt
    shutil.copy(d / "condor-soap.crt", d / "client-ca.crt")
    return Pki(d, str(d / "condor-soap.crt"), clients)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def render_example(service_port: int, tls_port: int, tls_dir: Path) -> str:
    """examples/nginx/condor-soap.conf with its EDIT values replaced (each must be there)."""
    text = EXAMPLE.read_text()
    for old, new in (("server 127.0.0.1:8080;", f"server 127.0.0.1:{service_port};"),
                     ("listen 443 ssl;", f"listen 127.0.0.1:{tls_port} ssl;"),
                     ("/etc/condor-soap/tls/", f"{tls_dir}/")):
        assert old in text, f"{EXAMPLE} no longer contains {old!r}: update tests/tls/conftest.py"
        text = text.replace(old, new)
    return text


@dataclass
class Stack:
    url: str                      # https://127.0.0.1:<tls port>/ through nginx
    tls_port: int
    service: ServiceProcess       # the service behind it (trusted_proxies 127.0.0.1)
    pki: Pki
    nginx_dir: Path
    nginx_pid: int

    def upstream_connections(self) -> int:
        """ESTABLISHED TCP connections nginx's processes hold to the service's port."""
        port = int(self.service.url.rstrip("/").rsplit(":", 1)[1])
        children = Path(f"/proc/{self.nginx_pid}/task/{self.nginx_pid}/children").read_text().split()
        inodes = set()
        for pid in [str(self.nginx_pid), *children]:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                try:
                    target = os.readlink(fd)
                except OSError:
                    continue
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        count = 0
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            remote_port, state, inode = int(fields[2].split(":")[1], 16), fields[3], fields[9]
            count += remote_port == port and state == "01" and inode in inodes
        return count

    def audit(self) -> list[dict]:
        import json

        path = self.service.state_dir / "audit.log"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def nginx_log(self) -> str:
        return "".join(p.read_text(errors="replace") for p in sorted(self.nginx_dir.glob("*.log")))


def _wait_tls(port: int, ca: str, proc: subprocess.Popen, log: Path, timeout: float = 20.0) -> None:
    context = ssl.create_default_context(cafile=ca)
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"nginx exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as raw:
                with context.wrap_socket(raw, server_hostname="127.0.0.1"):
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nginx not serving TLS on {port}:\n{log.read_text(errors='replace')}")
            time.sleep(0.1)


@pytest.fixture(scope="session")
def stack(tmp_path_factory, pki) -> Iterator[Stack]:
    """The real service (loopback, trusted_proxies 127.0.0.1, certificate map, password file)
    behind a real nginx running the example configuration."""
    nginx = _nginx()
    root = tmp_path_factory.mktemp("tls-stack")
    passwords = root / "passwd"
    for user, password in PASSWORDS.items():
        cred.set_entry(str(passwords), user, cred.hash_password(password))
    cert_map = root / "certmap"
    cert_map.write_text(CERT_MAP)
    service = ServiceProcess(root / "state", "--trusted-proxies", "127.0.0.1",
                             "--cert-map-file", str(cert_map), "--password-file", str(passwords))
    service_url = service.start()
    service_port = int(service_url.rstrip("/").rsplit(":", 1)[1])

    ndir = root / "nginx"
    ndir.mkdir()
    tls_port = _free_port()
    (ndir / "condor-soap.conf").write_text(render_example(service_port, tls_port, pki.dir))
    temp = "".join(f"    {kind}_temp_path {ndir / kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    # the main file is the test's (Debian's /etc/nginx/nginx.conf plays this part in production)
    (ndir / "nginx.conf").write_text(
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"worker_processes 1;\npid {ndir / 'nginx.pid'};\nerror_log {ndir / 'error.log'} info;\n"
        f"events {{ worker_connections 64; }}\n"
        f"http {{\n    access_log {ndir / 'access.log'};\n{temp}    include {ndir / 'condor-soap.conf'};\n}}\n")
    command = [nginx, "-p", str(ndir), "-e", str(ndir / "error.log"), "-c", str(ndir / "nginx.conf"),
               "-g", "daemon off;"]
    checked = subprocess.run([*command[:-2], "-t"], capture_output=True, text=True)
    if checked.returncode != 0:
        service.stop()
        pytest.fail(f"nginx -t refused the example configuration:\n{checked.stderr}")
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=open(ndir / "stderr.log", "wb"))
    try:
        _wait_tls(tls_port, pki.ca, proc, ndir / "error.log")
        yield Stack(f"https://127.0.0.1:{tls_port}/", tls_port, service, pki, ndir, proc.pid)
    finally:
        proc.terminate()  # SIGTERM: nginx's fast shutdown
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        service.stop()
