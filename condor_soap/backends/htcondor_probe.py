"""``python -m condor_soap.backends.htcondor_probe [SCHEDD_NAME]``: locate the schedd and ask
it for no job, in a process of its own, for the htcondor backend's readiness check (htcondor2
may hold the GIL while a daemon does not answer: only a process can be bounded and killed).
Exit status 0 when the schedd answered; else 1, with the reason on stdout."""
from __future__ import annotations

import sys
from typing import Optional, Sequence

import htcondor2

from condor_soap.backends.htcondor import locate_schedd


def probe(schedd_name: Optional[str]) -> None:
    """Raise if the schedd (named as the backend names it) cannot be located or queried."""
    ad = locate_schedd(schedd_name or htcondor2.param.get("SCHEDD_HOST") or None)
    htcondor2.Schedd(ad).query("false", ["ClusterId"], limit=1)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        probe(args[0] if args else None)
    except Exception as exc:  # every failure is the answer: "not reachable, because ..."
        print(str(exc).strip() or type(exc).__name__)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
