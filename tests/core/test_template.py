"""createJobTemplate (spec §4.6) and discoverJobRequirements (spec §4.4)."""
from __future__ import annotations

import pytest

from condor_soap.core.records import Attr, AttrType, Universe
from condor_soap.core.template import job_requirements, job_template
from condor_soap.errors import CondorSoapError, StatusCode
from tests.core.helpers import S, X, attrs

NOW = 1_700_000_000
VERSION = "$CondorVersion: 8.7.7 Jan 01 2024 BuildID: test $"
PLATFORM = "$CondorPlatform: X86_64-Test $"
I, F, Str, B, E = (AttrType.INTEGER, AttrType.FLOAT, AttrType.STRING, AttrType.BOOLEAN,
                   AttrType.EXPRESSION)


@pytest.fixture
def table() -> dict[str, tuple[AttrType, str]]:
    """Spec §4.6 for createJobTemplate(7, 3, "alice", VANILLA, "/bin/echo", "a 'b c'", None)."""
    rows = {
        "MyType": (Str, "Job"), "TargetType": (Str, "Machine"), "ServerTime": (I, str(NOW)),
        "Owner": (Str, "alice"), "JobUniverse": (I, "5"), "Cmd": (Str, "/bin/echo"),
        "QDate": (I, str(NOW)), "CompletionDate": (I, "0"),
        "CoreSize": (I, "-1"), "ExitStatus": (I, "0"), "ExitBySignal": (B, "FALSE"),
        "RootDir": (Str, "/"), "MinHosts": (I, "1"), "MaxHosts": (I, "1"), "CurrentHosts": (I, "0"),
        "WantRemoteSyscalls": (B, "FALSE"), "WantCheckpoint": (B, "FALSE"), "WantRemoteIO": (B, "TRUE"),
        "JobStatus": (I, "1"), "EnteredCurrentStatus": (I, str(NOW)), "JobPrio": (I, "0"),
        "NiceUser": (B, "FALSE"), "JobNotification": (I, "0"), "ImageSize": (I, "100"),
        "In": (Str, "/dev/null"), "Out": (Str, "/dev/null"), "Err": (Str, "/dev/null"),
        "BufferSize": (I, "524288"), "BufferBlockSize": (I, "32768"),
        "ShouldTransferFiles": (Str, "YES"), "WhenToTransferOutput": (Str, "ON_EXIT"),
        "Requirements": (B, "TRUE"), "OnExitRemove": (B, "TRUE"),
        "Arguments": (Str, "a 'b c'"),
        "RequestMemory": (E, "ifthenelse(MemoryUsage =!= undefined,MemoryUsage,(ImageSize + 1023) / 1024)"),
        "RequestDisk": (E, "DiskUsage"), "DiskUsage": (I, "1"), "RequestCpus": (I, "1"),
        "StreamOut": (B, "FALSE"), "StreamErr": (B, "FALSE"),
        "CondorVersion": (Str, VERSION), "CondorPlatform": (Str, PLATFORM),
        "ClusterId": (I, "7"), "ProcId": (I, "3"), "StageInStart": (I, "1"), "StageInFinish": (I, "1"),
        "FilesRetrieved": (B, "FALSE"), "LeaveJobInQueue": (E, "FilesRetrieved =?= false"),
    }
    for name in ("RemoteWallClockTime", "LocalUserCpu", "LocalSysCpu", "RemoteUserCpu", "RemoteSysCpu"):
        rows[name] = (F, "0.000000")
    for name in ("NumCkpts", "NumJobStarts", "NumRestarts", "NumSystemHolds", "CommittedTime",
                 "CumulativeSlotTime", "CommittedSlotTime", "TotalSuspensions", "LastSuspensionTime",
                 "CumulativeSuspensionTime", "CommittedSuspensionTime"):
        rows[name] = (I, "0")
    for name in ("PeriodicHold", "PeriodicRemove", "PeriodicRelease", "OnExitHold"):
        rows[name] = (B, "FALSE")
    return rows


def make(**kw) -> list[Attr]:
    args = dict(cluster=7, proc=3, owner="alice", universe=Universe.VANILLA, cmd="/bin/echo",
                args="a 'b c'", requirements=None, now=NOW, version=VERSION, platform=PLATFORM)
    args.update(kw)
    return job_template(**args)


def test_every_attribute_of_the_table(table):
    items = make()
    assert [a.name for a in items[:3]] == ["MyType", "TargetType", "ServerTime"]
    got = {a.name: (a.type, a.value) for a in items}
    assert got == table  # every row, nothing else (no Iwd, no Args)


def test_null_owner_and_cmd_are_omitted(table):
    names = set(attrs(make(owner=None, cmd=None)))
    assert "owner" not in names and "cmd" not in names
    assert names == {n.casefold() for n in table} - {"owner", "cmd"}


def test_null_args_is_empty_string():
    assert attrs(make(args=None))["arguments"].value == ""


def test_args_are_rejoined_canonically():
    assert attrs(make(args="  x   'it''s'  ''"))["arguments"].value == "x 'it''s' ''"


def test_unparsable_args_fail_but_return_the_ad(table):
    with pytest.raises(CondorSoapError) as info:
        make(args="'unterminated")
    assert info.value.code is StatusCode.FAIL and info.value.message == "Invalid arguments string."
    result = attrs(info.value.result)
    assert "arguments" not in result
    assert set(result) == {n.casefold() for n in table} - {"arguments"}


@pytest.mark.parametrize("text, wire", [
    pytest.param('Arch == "X86_64"', Attr("Requirements", E, 'Arch == "X86_64"'), id="expression"),
    pytest.param("OpSys =?= \"LINUX\"", Attr("Requirements", E, 'OpSys =?= "LINUX"'), id="old-syntax"),
    pytest.param("false", Attr("Requirements", B, "FALSE"), id="literal"),
    pytest.param("Queue=150", Attr("Requirements", B, "TRUE"), id="openlmi-garbage-keeps-TRUE"),
    pytest.param("executable = x\nqueue", Attr("Requirements", B, "TRUE"), id="submit-fragment"),
    pytest.param("", Attr("Requirements", B, "TRUE"), id="empty"),
])
def test_requirements(text, wire):
    assert attrs(make(requirements=text))["requirements"] == wire


def test_leave_in_queue_knob_is_anded():
    knob = "((JobStatus==4) && ((ServerTime - CompletionDate) < (60 * 60 * 24)))"
    item = attrs(make(leave_in_queue=knob))["leavejobinqueue"]
    assert item.type is E
    assert item.value.startswith("FilesRetrieved =?= false && (")
    assert "(ServerTime - CompletionDate) < (60 * 60 * 24)" in item.value


@pytest.mark.parametrize("universe, number", [(Universe.JAVA, "10"), (Universe.SCHEDULER, "7"),
                                              (Universe.STANDARD, "1")])
def test_universe_number(universe, number):
    assert attrs(make(universe=universe))["jobuniverse"].value == number


# discoverJobRequirements
def test_requirements_order_and_dedupe():
    ad = [S("TransferInputFiles", "data.txt, lib.so,,data.txt"), S("In", "stdin.txt"),
          S("x509userproxy", "/tmp/x509up_u1"), S("Cmd", "run.sh"), S("Iwd", "/somewhere")]
    assert job_requirements(ad) == ["data.txt", "lib.so", "stdin.txt", "/tmp/x509up_u1", "run.sh"]


def test_requirements_skip_dev_null_and_untransferred_executable():
    ad = [S("In", "/dev/null"), S("Cmd", "/bin/hostname"), X("TransferExecutable", "false")]
    assert job_requirements(ad) == []


def test_requirements_of_nothing():
    assert job_requirements(None) == []
    assert job_requirements([S("Cmd", "exe"), S("TransferInputFiles", "")]) == ["exe"]
