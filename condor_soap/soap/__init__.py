"""The SOAP layer: Spyne models and services, the WSDL writer and the WSGI application."""
from condor_soap.soap import _spyne_compat  # noqa: F401  (must run before any spyne import)
