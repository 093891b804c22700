#!/usr/bin/env python3
"""The condor_soap.client tutorial (docs/client-tutorial.rst), as one program: submit a job
with input files, watch it, fetch its output, clean up. The test suite runs it against the
service on both backends.

    python examples/client_tutorial.py [URL]

Without URL: $CONDOR_SOAP_URL, else http://127.0.0.1:8080/; credentials from
$CONDOR_SOAP_USER/$CONDOR_SOAP_PASSWORD or $CONDOR_SOAP_TOKEN (docs/client.rst).
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

# [connect]
from condor_soap.client import JobStatus, Schedd


def main(url: str | None = None) -> int:
    schedd = Schedd(url)  # None: $CONDOR_SOAP_URL or the config file
    print(schedd.version())
    # [/connect]

    # [files]
    work = Path(tempfile.mkdtemp(prefix="condor-soap-tutorial-"))
    (work / "count.sh").write_text("#!/bin/sh\n"
                                   "wc -w < words.txt > count.txt\n"
                                   "echo \"counted the words of $1\"\n")
    (work / "words.txt").write_text("the quick brown fox jumps over the lazy dog\n")
    # [/files]

    # [submit]
    result = schedd.submit({
        "executable": "count.sh",            # uploaded: it is a local file
        "arguments": "words.txt",
        "transfer_input_files": "words.txt",  # uploaded too
        "output": "stdout.txt",
        "error": "stderr.txt",
    }, base_dir=str(work))
    job = result.jobs()[0]                   # "12.0"
    print(f"submitted job {job}")
    # [/submit]

    # [watch]
    ad = schedd.wait(job, timeout=300)[job]  # polls until completed, removed or held
    print(f"job {job} is {JobStatus(ad['JobStatus']).name}, exit code {ad.get('ExitCode')}")
    # [/watch]

    # [fetch]
    for path in schedd.retrieve(job, str(work / "output")):
        print(f"fetched {Path(path).name}")
    print("count.txt says", (work / "output" / "count.txt").read_text().strip(), "words")
    # [/fetch]

    # [clean]
    schedd.close_spool(job)                  # the job may now leave the queue
    # [/clean]
    return 0 if ad["JobStatus"] == JobStatus.COMPLETED else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else None))
