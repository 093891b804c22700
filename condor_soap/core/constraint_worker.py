"""The constraint evaluator process (:mod:`condor_soap.core.constraints`).

Reads ``{"constraint": str, "ads": [ClassAd text, ...]}`` lines on stdin and answers each
with a JSON list of the indices of the ads the constraint is ``true`` for. Exits at EOF, so it
never outlives the service.
"""
from __future__ import annotations

import json
import sys

import classad2


def matching(constraint: str, ads: list[str]) -> list[int]:
    try:
        expr = classad2.ExprTree(constraint)
    except Exception:  # classad2 raises several types for text that does not parse
        return []
    found = []
    for index, text in enumerate(ads):
        try:
            if expr.eval(classad2.ClassAd(text)) is True:
                found.append(index)
        except Exception:  # an ad that does not evaluate does not match
            pass
    return found


def main() -> None:
    for line in sys.stdin.buffer:
        request = json.loads(line)
        sys.stdout.write(json.dumps(matching(request["constraint"], request["ads"])) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
