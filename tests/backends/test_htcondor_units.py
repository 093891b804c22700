"""The htcondor backend's pure parts (no pool): the id map and the submit translation."""
from __future__ import annotations

import classad2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from condor_soap.backends.htcondor_state import IdMap, State
from condor_soap.backends.htcondor_submit import Untranslatable, cluster_description, job_commands
from condor_soap.core.records import NewJob
from tests.core.test_structs import NAMES, make_ad, values


def test_id_map_aliases_and_shadows():
    ids = IdMap()
    ids.add((100, 0), (102, 0))  # client cluster 100 went in as 102
    ids.add((100, 2), (102, 1))  # its procs 0 and 2 became 0 and 1
    ids.add((101, 0), (101, 0))  # identity: not an alias
    assert ids.real(100, 0) == (102, 0) and ids.real(100, 2) == (102, 1)
    assert ids.real(100, 1) is None  # no such client job (102.1 is client 100.2)
    assert ids.real(102, 0) is None  # real cluster 102 is known under client id 100
    assert ids.real(101, 0) == (101, 0) and ids.real(7, 3) == (7, 3)
    assert ids.client(102, 1) == (100, 2) and ids.client(102, 0) == (100, 0)
    assert ids.client(100, 0) is None  # a foreign job with the client's id is shadowed
    assert ids.client(7, 3) == (7, 3)
    assert ids.real_cluster(100) == 102 and ids.real_cluster(102) is None and ids.real_cluster(5) == 5


def test_state_persists_aliases_and_allocations(tmp_path):
    state = State(str(tmp_path / "s.sqlite3"))
    assert state.allocate(10) == 11 and state.allocate(5) == 12
    state.add_jobs("t1", [((12, 0), (13, 0))])
    state.close()
    again = State(str(tmp_path / "s.sqlite3"))
    assert again.ids.real(12, 0) == (13, 0) and again.is_ours(12, 0)
    assert again.allocate(0) == 14  # above every real id seen too
    assert again.forget_token_jobs("t1") == [(12, 0)] and not again.ids


def _job(cluster: int, proc: int, **attrs) -> NewJob:
    ad = classad2.ClassAd({"ClusterId": cluster, "ProcId": proc, "Cmd": "job.sh", "JobStatus": 1,
                           "Iwd": "/spool/x", **attrs})
    return NewJob(cluster, proc, str(ad), {})


def test_job_commands_split_owned_commands_and_my():
    ad = job_commands(_job(5, 0, In="in.txt", Note='a "b" $(Cluster) $$(Memory)', Owner="u",
                           LeaveJobInQueue=classad2.ExprTree("FilesRetrieved =?= false")), "/h/5/0", "tok")
    assert ad["executable"] == "/h/5/0/job.sh" and ad["input"] == "in.txt" and ad["initialdir"] == "/h/5/0"
    assert ad["MY.Note"] == '"a \\"b\\" $(DOLLAR)(Cluster) $$(Memory)"'
    assert ad["MY.LeaveJobInQueue"] == "FilesRetrieved =?= false" and ad["MY.Owner"] == '"u"'
    assert not {k for k in ad if k.lower() in ("my.clusterid", "my.procid", "my.iwd", "my.jobstatus")}
    assert ad["MY.CondorSoapToken"] == '"tok"' and ad["MY.CondorSoapJob"] == '"5.0"'
    v1 = job_commands(_job(5, 1, Args="a b", Env="X=1;Y=2"), "/h", "t")
    assert v1["MY.Arguments"] == '"a b"' and v1["MY.Environment"] == '"X=1 Y=2"'
    with pytest.raises(Untranslatable, match="Note"):
        job_commands(_job(5, 0, Note="two\nlines"), "/h", "t")


def test_cluster_description_uses_itemdata_for_differences():
    jobs = [job_commands(_job(5, p, Same="s", Differs=str(p)), f"/h/5/{p}", "t") for p in (0, 2)]
    common, items = cluster_description(jobs)
    assert common["MY.Same"] == '"s"' and common["MY.Differs"].startswith("$(CondorSoapV")
    var = common["MY.Differs"][2:-1]
    assert [item[var] for item in items] == ['"0"', '"2"']
    assert len(items) == 2 and all("_" not in key for item in items for key in item)


@settings(max_examples=300, deadline=None)
@given(values=st.dictionaries(st.sampled_from(NAMES), values, min_size=1, max_size=8))
def test_translation_is_worked_out_from_the_text_as_from_the_ad(values):
    # job_commands works each (name, value text) out once: the same answer as working it out
    # on each job's own ad, whatever came before
    from condor_soap.backends import htcondor_submit as subm

    ad = make_ad(list(values.items()))
    for name in ad.keys():
        kept = dict(subm._TRANSLATIONS)  # what earlier examples left: worked out on other ads
        subm._TRANSLATIONS.clear()
        expected_value, expected_old = subm._translation(ad, name)  # worked out on this ad
        subm._TRANSLATIONS.clear()
        subm._TRANSLATIONS.update(kept)
        try:
            assert expected_old == subm.old_text(ad, name)
        except Untranslatable:
            assert expected_old is None
        assert expected_value is None or not isinstance(expected_value, classad2.ExprTree)
        value, old = subm._translation(ad, name)
        assert old == expected_old
        assert type(value) is type(expected_value)
        if not isinstance(value, float):  # (a real's value is never used, and its text rounds)
            assert value == expected_value


def test_a_bare_htcondor_exception_says_the_schedd_is_gone(tmp_path):
    """htcondor2 raises an HTCondorException without text when the schedd goes away in the
    middle of a call (seen killing it while it spools): the message must say so."""
    import htcondor2

    from condor_soap import Config
    from condor_soap.backends.htcondor import HTCondorBackend
    from condor_soap.core.ports import BackendError

    backend = HTCondorBackend(Config(state_dir=str(tmp_path), backend="htcondor", schedd_name="schedd@example"))
    try:
        for raised, expected in ((htcondor2.HTCondorException(), "The schedd schedd@example is not reachable "
                                  "(Could not spool): HTCondorException without a reason: the connection ended"),
                                 (ValueError(), "Could not spool: ValueError")):
            with pytest.raises(BackendError) as failed:
                with backend._failures("Could not spool"):
                    raise raised
            assert str(failed.value) == expected
    finally:
        backend.close()
