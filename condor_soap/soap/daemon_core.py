"""The daemon-core operations every HTCondor daemon served (spec §3.5)."""
from __future__ import annotations

from spyne import Service

from condor_soap.errors import StatusCode
from condor_soap.soap import convert
from condor_soap.soap import models as m
from condor_soap.soap.models import StringAndStatus
from condor_soap.soap.operations import operation, schedd


class DaemonCoreService(Service):
    """getVersionString and getPlatformString: SUCCESS without a message (spec §4.4)."""

    # gSOAP put every daemon-core type in each daemon's WSDL, used or not (spec §3.5)
    wsdl_types = (m.StatusCode, m.ClassAdAttrType, m.Status, m.ClassAdStructAttr, m.ClassAdStruct,
                  m.ClassAdStructArray, m.ClassAdStructAndStatus, m.ClassAdStructArrayAndStatus,
                  m.StringAndStatus)

    @operation(returns=StringAndStatus)
    def getVersionString(ctx):
        return StringAndStatus(status=convert.status(StatusCode.SUCCESS, None), message=schedd(ctx).version())

    @operation(returns=StringAndStatus)
    def getPlatformString(ctx):
        return StringAndStatus(status=convert.status(StatusCode.SUCCESS, None), message=schedd(ctx).platform())
