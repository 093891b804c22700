"""condor-soap: HTCondor's SOAP web service (``urn:condor``), as a standalone Python service."""
from __future__ import annotations

from typing import Any

from condor_soap.config import Config

__version__ = "0.1.0"
__all__ = ["Config", "create_app", "__version__"]


def __getattr__(name: str) -> Any:
    # create_app pulls in Spyne; importing it lazily keeps ``condor_soap.__version__`` cheap
    # for the backends and the CLI's --help.
    if name == "create_app":
        from condor_soap.app import create_app

        return create_app
    raise AttributeError(name)
