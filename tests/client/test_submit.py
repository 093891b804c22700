"""Submit descriptions (dict, htcondor2.Submit, submit-file text) mapped to what the contract
carries; no service needed."""
from __future__ import annotations

import htcondor2
import pytest

from condor_soap.client import Expression, SubmitDescription


def job(description, tmp_path=None, cluster=7, proc=0):
    return SubmitDescription(description, str(tmp_path) if tmp_path else None).job(cluster, proc)


def test_commands_mapped(tmp_path):
    (tmp_path / "run.sh").write_text("#!/bin/sh\n")
    (tmp_path / "in.txt").write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "data.csv").write_text("1,2")
    j = job({"Universe": "vanilla", "executable": "run.sh", "arguments": "a b", "input": "in.txt",
             "transfer_input_files": "sub/data.csv, in.txt", "output": "o.$(Cluster).$(Process)",
             "error": "e.txt", "request_memory": "1.5 GB", "request_disk": "100", "request_cpus": "2",
             "environment": '"A=1 B=\'x y\'"', "priority": "5", "notification": "Error",
             "should_transfer_files": "yes", "when_to_transfer_output": "on_exit", "batch_name": "b",
             "periodic_remove": "JobStatus == 5", "+Tag": '"t"', "MY.Num": "3", "hold": "True"}, tmp_path, proc=4)
    assert (j.universe, j.cmd, j.args, j.requirements, j.hold) == ("VANILLA", "run.sh", "a b", None, True)
    assert j.input_files == {"run.sh": str(tmp_path / "run.sh"), "in.txt": str(tmp_path / "in.txt"),
                             "data.csv": str(tmp_path / "sub/data.csv")}
    assert j.attributes == {"In": "in.txt", "Out": "o.7.4", "Err": "e.txt", "RequestMemory": 1536,
                            "RequestDisk": 100, "RequestCpus": Expression("2"), "Environment": "A=1 B='x y'",
                            "JobPrio": Expression("5"), "JobNotification": 3, "ShouldTransferFiles": "YES",
                            "WhenToTransferOutput": "ON_EXIT", "JobBatchName": "b",
                            "PeriodicRemove": Expression("JobStatus == 5"), "Tag": Expression('"t"'),
                            "Num": Expression("3")}


def test_arguments_syntax_and_remote_executables():
    assert job({"executable": "/bin/echo", "transfer_executable": "false", "arguments": "it's old"}).args == \
        "'it''s' old"  # old syntax: words, a quote is literal
    assert job({"executable": "/bin/echo", "transfer_executable": "false",
                "arguments": '"new \'two words\' ""q"""'}).args == "new 'two words' \"q\""
    remote = job({"executable": "/opt/tool", "requirements": "Memory > 10"})
    assert (remote.cmd, remote.attributes, remote.input_files) == ("/opt/tool", {"TransferExecutable": False}, {})
    assert remote.requirements == "Memory > 10"


def test_text_queue_macros_and_htcondor2_submit():
    text = "# comment\nexecutable = /bin/echo\ntransfer_executable = false\nname = w\\\norld\n" \
           "arguments = hello $(name) $(undefined)\nQueue 3\n"
    description = SubmitDescription(text)
    assert description.count == 3 and description.job(1, 2).args == "hello world"
    assert SubmitDescription("executable = /bin/true\nqueue\n").count == 1
    sub = htcondor2.Submit({"executable": "/bin/echo", "transfer_executable": "false", "output": "$(ProcId).out"})
    sub.setQArgs("4")
    described = SubmitDescription(sub)
    assert described.count == 4 and described.job(9, 3).attributes["Out"] == "3.out"


def test_refusals(tmp_path):
    with pytest.raises(ValueError, match="universe"):
        job({"executable": "/bin/true", "universe": "docker"})
    with pytest.raises(ValueError, match="notification"):
        job({"executable": "/bin/true", "notification": "sometimes"})
    with pytest.raises(ValueError, match="only one queue"):
        SubmitDescription("executable = x\nqueue\nqueue\n")
    with pytest.raises(ValueError, match="not 'command = value'"):
        SubmitDescription("executable /bin/true\n")
    with pytest.raises(ValueError, match="input file 'gone.txt' not found"):
        job({"executable": "/bin/true", "transfer_input_files": "gone.txt"}, tmp_path)
    with pytest.raises(TypeError):
        SubmitDescription(42)
    with pytest.warns(UserWarning, match="'accounting_group'"):
        job({"executable": "/bin/true", "accounting_group": "physics"})
