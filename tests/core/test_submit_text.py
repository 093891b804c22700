"""Submit-description text -> job attributes (core/submit_text.py)."""
from __future__ import annotations

import pytest

from condor_soap.core.records import AttrType
from condor_soap.core.submit_text import SubmitTextError, parse


def attrs(job) -> dict:
    return {a.name: (a.type, a.value) for a in job}


def test_commands_macros_and_queue():
    text = """# a comment
executable = /bin/$(prog)
prog = echo
arguments = "-n 'a b' $(Process)"
environment = "A=1 B='x y'"
output = out.$(Cluster).$(Process)
request_memory = 2 GB
request_disk = 10M
requirements = OpSys == "LINUX" && \\
   Arch == "X86_64"
hold = true
+Project = "rest"
MY.Weight = 3 + 4
queue 3
"""
    jobs = parse(text, 42).jobs
    assert len(jobs) == 3
    first, last = attrs(jobs[0]), attrs(jobs[2])
    assert first["Cmd"] == (AttrType.STRING, "/bin/echo")
    assert first["Arguments"] == (AttrType.STRING, "-n 'a b' 0") and last["Arguments"][1] == "-n 'a b' 2"
    assert first["Environment"] == (AttrType.STRING, "A=1 'B=x y'")
    assert last["Out"] == (AttrType.STRING, "out.42.2")
    assert first["RequestMemory"] == (AttrType.INTEGER, "2048") and first["RequestDisk"] == (AttrType.INTEGER, "10240")
    assert first["Requirements"] == (AttrType.EXPRESSION, 'OpSys == "LINUX" && Arch == "X86_64"')
    assert first["JobStatus"] == (AttrType.INTEGER, "5")
    assert first["Project"] == (AttrType.EXPRESSION, '"rest"') and first["Weight"] == (AttrType.EXPRESSION, "3 + 4")
    assert "prog" not in first


def test_v1_arguments_and_universe():
    [job] = parse("executable = x\nargs = a b  c\nuniverse = local\nqueue\n", 1).jobs
    assert attrs(job)["Arguments"][1] == "a b c" and attrs(job)["JobUniverse"] == (AttrType.INTEGER, "12")


@pytest.mark.parametrize("text, message", [
    ("executable = x\n", "no queue statement"),
    ("queue\nqueue\n", "line 2: only one queue statement"),
    ("executable = x\nqueue 2 from list.txt\n", "line 2: only 'queue' or 'queue N'"),
    ("queue\nexecutable = x\n", "line 2: commands after the queue statement"),
    ("executable x\nqueue\n", "line 1: expected 'name = value'"),
    ("executable = $(missing)\nqueue\n", "line 1: undefined macro $(missing)"),
    ("a = $(b)\nb = $(a)\nexecutable = $(a)\nqueue\n", "line 3: macros nested too deep"),
    ("initialdir = /tmp\nqueue\n", "line 1: initialdir: a job runs in its spool"),
    ("requirements = (\nqueue\n", "line 1: Requirements: '(' is not a ClassAd expression"),
    ("+bad-name = 1\nqueue\n", "line 1: 'bad-name' is not an attribute name"),
    ("universe = nonsense\nqueue\n", "line 1: universe: unknown universe"),
    ("queue 0\n", "queue 0: between 1 and"),
])
def test_refusals(text, message):
    with pytest.raises(SubmitTextError) as err:
        parse(text, 1)
    assert str(err.value).startswith(message)
