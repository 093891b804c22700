"""Composition root: metrics, backend -> cores -> faces -> the HTTP application."""
from __future__ import annotations

import contextlib
from typing import Optional

from condor_soap import __version__
from condor_soap.auth.audit import AuditLog
from condor_soap.calls import Calls
from condor_soap.core.ports import Backend
from condor_soap.config import Config
from condor_soap.core import constraints, expression_guard
from condor_soap.core.collector import CollectorCore
from condor_soap.core.schedd import ScheddCore
from condor_soap.rest.api import Api
from condor_soap.rest.face import RestFace
from condor_soap.soap.application import CondorApplication, Cores
from condor_soap.soap.wsgi import SoapFace
from condor_soap.http.app import HttpService
from condor_soap.http.identity import Authenticator
from condor_soap.http.operator import OperatorFace
from condor_soap.metrics import Metrics


def build_backend(config: Config) -> Backend:
    """The backend ``config.backend`` names (the htcondor one is imported only when chosen)."""
    if config.backend == "htcondor":
        from condor_soap.backends.htcondor import HTCondorBackend

        return HTCondorBackend(config)
    from condor_soap.backends.local import LocalBackend

    return LocalBackend(config)


def create_app(config: Config, backend: Optional[Backend] = None) -> HttpService:
    """The WSGI application: the REST face under ``/v1/``, the SOAP face (both WSDLs and
    every operation) on any other path, the operator pages (``/``, ``/healthz``, ``/readyz``,
    ``/metrics``, ``web_root`` files) for the other GETs.

    ``backend`` defaults to :func:`build_backend`. ``app.close()`` closes the cores and the
    backend (also a given one).
    """
    constraints.configure(config.constraint_time_limit)
    metrics = Metrics()
    metrics.describe(__version__, config.backend)
    expression_guard.configure(expression_guard.ExpressionLimits(config.max_expression_length,
                                                                 config.max_expression_depth))
    with contextlib.ExitStack() as stack:
        backend = backend or build_backend(config)
        stack.callback(backend.close)
        schedd = ScheddCore(config, backend, metrics=metrics)
        stack.callback(schedd.close)
        collector = CollectorCore(backend, metrics=metrics)
        closing = stack.pop_all()  # from here on the app owns them
    metrics.watch(schedd.figures)
    audit = AuditLog(None if config.audit_log == "off" else config.audit_log)
    auth = Authenticator(config, schedd.policy, audit)
    calls = Calls(schedd.policy, audit, metrics)
    soap = SoapFace(CondorApplication(Cores(schedd=schedd, collector=collector, calls=calls)),
                    max_body=config.max_request_body_size)
    rest = RestFace(Api(schedd, collector, config), calls)
    operator = OperatorFace(backend=config.backend, ready=schedd.readiness.problems,
                            ready_timeout=config.ready_timeout, metrics=metrics, web_root=config.web_root)
    # REST first: the SOAP face takes any POST; SOAP before the operator face: a GET of a WSDL
    # (also "/?wsdl") is SOAP's, the operator face takes the other GETs
    return HttpService([rest, soap, operator], auth=auth, on_close=closing.close, on_stop=schedd.changes.close,
                       max_body=config.max_request_body_size, metrics=metrics)
