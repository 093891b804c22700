"""condor_soap.client through the real nginx of examples/nginx/condor-soap.conf: client
certificates, CA verification, Basic over TLS, and what a refused certificate looks like."""
from __future__ import annotations

import pytest

from condor_soap.client import AuthenticationFailed, ConnectionFailed, HTTPError, JobAction, Schedd
from condor_soap.client.settings import Settings
from tests.tls.conftest import PASSWORDS


def client(stack, **kw) -> Schedd:
    return Schedd(settings=Settings(url=stack.url, **kw), retry_for=0)


def test_client_certificate_is_the_user(stack):
    alice = client(stack, cert=stack.pki.clients["alice"], verify=stack.pki.ca)
    assert alice.version().startswith("$CondorVersion")
    assert alice.owner is None  # the service makes the certificate's user the Owner
    result = alice.submit({"executable": "/bin/sleep", "arguments": "600", "transfer_executable": "false",
                           "hold": "true"})
    assert alice.job(result.jobs()[0])["Owner"] == "alice"
    assert [ad["ClusterId"] for ad in alice.query(f"ClusterId == {result.cluster()}", ["ClusterId"])] == \
        [result.cluster()]
    alice.act(JobAction.Remove, result.cluster())


def test_basic_over_tls_and_refusals(stack):
    bob = client(stack, user="bob", password=PASSWORDS["bob"], verify=stack.pki.ca)
    assert bob.platform().startswith("$CondorPlatform")
    with pytest.raises(ConnectionFailed, match="(?i)certificate"):  # the test CA is not the system's
        client(stack, user="bob", password=PASSWORDS["bob"]).version()
    assert client(stack, user="bob", password=PASSWORDS["bob"], verify=False).version()
    with pytest.raises(AuthenticationFailed):
        client(stack, verify=stack.pki.ca).version()  # nginx passes no identity: the service asks for one
    with pytest.raises(HTTPError) as refused:  # a certificate from another CA: nginx answers 400
        client(stack, cert=stack.pki.clients["evil-alice"], verify=stack.pki.ca).version()
    assert refused.value.http_status == 400
