"""condor_soap.client: a pythonic client of the HTCondor SOAP web service (``urn:condor``).

It feels like the ``htcondor2`` bindings (ClassAds as dicts, iterators, exceptions, context
managers) but speaks only the WSDL contract over HTTP, so it works against condor-soap and
against an original HTCondor 7/8 SOAP schedd. It imports nothing of the service.

>>> from condor_soap.client import Schedd
>>> schedd = Schedd("http://127.0.0.1:8080/")          # doctest: +SKIP
>>> result = schedd.submit({"executable": "/bin/echo", "arguments": "hello"})  # doctest: +SKIP
"""
from __future__ import annotations

from condor_soap.client.classad import ClassAd, Expression
from condor_soap.client.collector import AdType, Collector
from condor_soap.client.errors import (AlreadyExists, AuthenticationFailed, ConnectionFailed, CondorSoapClientError,
                                       Failed, HTTPError, Incomplete, InvalidOffset, InvalidResponse,
                                       InvalidTransaction, SoapFault, StatusCode, StatusError, Timeout,
                                       TooManyRequests, TransportError, UnknownCluster, UnknownFile, UnknownJob)
from condor_soap.client.schedd import JobAction, JobStatus, Schedd, SubmitResult, Transaction
from condor_soap.client.submit import SubmitDescription

__all__ = [
    "Schedd", "Collector", "Transaction", "SubmitResult", "SubmitDescription", "JobAction", "JobStatus", "AdType",
    "ClassAd", "Expression", "StatusCode",
    "CondorSoapClientError", "StatusError", "Failed", "InvalidTransaction", "UnknownCluster", "UnknownJob",
    "UnknownFile", "Incomplete", "InvalidOffset", "AlreadyExists", "SoapFault", "TransportError",
    "ConnectionFailed", "Timeout", "AuthenticationFailed", "TooManyRequests", "HTTPError", "InvalidResponse",
]
