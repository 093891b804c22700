"""A strict generated client (zeep) built from the REFERENCE WSDL and from the served one."""
from __future__ import annotations

import pytest
import zeep

WSDLS = [pytest.param("reference", id="reference-wsdl"), pytest.param("served", id="served-wsdl")]


def _client(kind: str, service: str, url: str, reference_dir) -> zeep.proxy.ServiceProxy:
    wsdl = str(reference_dir / f"{service}.wsdl") if kind == "reference" else f"{url}{service}.wsdl"
    return zeep.Client(wsdl).create_service(f"{{urn:condor}}{service}", url)


@pytest.mark.parametrize("kind", WSDLS)
def test_schedd(service_url, reference_dir, kind):
    schedd = _client(kind, "condorSchedd", service_url, reference_dir)
    version = schedd.getVersionString()
    assert version.status.code == "SUCCESS" and version.status.message is None
    assert version.message.startswith("$CondorVersion:")

    begun = schedd.beginTransaction(60)
    assert begun.status.code == "SUCCESS" and begun.status.message == "Success"
    assert begun.transaction.id != 0 and begun.transaction.duration == 60

    cluster = schedd.newCluster(begun.transaction)
    assert cluster.status.code == "SUCCESS" and cluster.integer > 0
    assert schedd.abortTransaction(begun.transaction).code == "SUCCESS"
    assert schedd.abortTransaction(begun.transaction).code == "INVALIDTRANSACTION"

    ads = schedd.getJobAds(None, None)
    assert ads.status.code == "SUCCESS"


@pytest.mark.parametrize("kind", WSDLS)
def test_collector(service_url, reference_dir, kind):
    collector = _client(kind, "condorCollector", service_url, reference_dir)
    assert collector.getPlatformString().message.startswith("$CondorPlatform:")
    ad = {"item": [{"name": "Name", "type": "STRING-ATTR", "value": f"zeep-{kind}"},
                   {"name": "MyType", "type": "STRING-ATTR", "value": "Generic"}]}
    inserted = collector.insertAd("GENERIC-AD-TYPE", ad)
    assert inserted.code == "SUCCESS"
    found = collector.queryAnyAds(f'Name == "zeep-{kind}"')  # zeep unwraps the array to a list
    assert len(found) == 1
    assert {i.name: i.value for i in found[0].item}["Name"] == f"zeep-{kind}"
