"""Composition root: backend -> cores -> faces -> the HTTP application."""
from __future__ import annotations

import contextlib
from typing import Optional

from condor_soap.auth.audit import AuditLog
from condor_soap.calls import Calls
from condor_soap.core.ports import Backend
from condor_soap.config import Config
from condor_soap.core import constraints
from condor_soap.core.collector import CollectorCore
from condor_soap.core.schedd import ScheddCore
from condor_soap.rest.api import Api
from condor_soap.rest.face import RestFace
from condor_soap.soap.application import CondorApplication, Cores
from condor_soap.soap.wsgi import SoapFace
from condor_soap.http.app import HttpService
from condor_soap.http.identity import Authenticator


def build_backend(config: Config) -> Backend:
    """The backend ``config.backend`` names (the htcondor one is imported only when chosen)."""
    if config.backend == "htcondor":
        from condor_soap.backends.htcondor import HTCondorBackend

        return HTCondorBackend(config)
    from condor_soap.backends.local import LocalBackend

    return LocalBackend(config)


def create_app(config: Config, backend: Optional[Backend] = None) -> HttpService:
    """The WSGI application: the REST face under ``/v1/``, the SOAP face (both WSDLs and
    every operation) on any other path.

    ``backend`` defaults to :func:`build_backend`. ``app.close()`` closes the cores and the
    backend (also a given one).
    """
    constraints.configure(config.constraint_time_limit)
    with contextlib.ExitStack() as stack:
        backend = backend or build_backend(config)
        stack.callback(backend.close)
        schedd = ScheddCore(config, backend)
        stack.callback(schedd.close)
        collector = CollectorCore(backend)
        closing = stack.pop_all()  # from here on the app owns them
    audit = AuditLog(None if config.audit_log == "off" else config.audit_log)
    auth = Authenticator(config, schedd.policy, audit)
    calls = Calls(schedd.policy, audit)
    soap = SoapFace(CondorApplication(Cores(schedd=schedd, collector=collector, calls=calls)),
                    max_body=config.max_request_body_size)
    rest = RestFace(Api(schedd, collector, config), calls)
    # REST first: the SOAP face takes any POST
    return HttpService([rest, soap], auth=auth, on_close=closing.close, on_stop=schedd.changes.close)
