"""Constraints are judged in worker processes that a runaway evaluation cannot outlive."""
from __future__ import annotations

import time

import classad2
import pytest

from condor_soap.core.constraints import ConstraintJudge, ConstraintTooCostly

# PCRE2 gives up on this after ~0.1 s per call; the ClassAd language has no way to stop early
CATASTROPHIC = " + ".join(['size(string(regexp("(a+)+$", S)))'] * 60)


@pytest.fixture
def judge():
    judge = ConstraintJudge(time_limit=10, workers=1)
    yield judge
    judge.close()


def ads(*values: int) -> list[classad2.ClassAd]:
    return [classad2.ClassAd({"N": v, "S": "a" * 30 + "!", "Text": 'say "hi"\n'}) for v in values]


def test_selects_in_order_what_is_true(judge):
    queue = ads(5, 1, 7, 3)
    assert [ad["N"] for ad in judge.select("N > 2", queue)] == [5, 7, 3]
    assert judge.select("N > 2", queue)[0] is queue[0]  # the caller's own objects
    assert [ad["N"] for ad in judge.select('Text == "say \\"hi\\"\\n"', queue)] == [5, 1, 7, 3]


@pytest.mark.parametrize("constraint,expected", [
    (None, 3), ("", 3), ("   ", 3),          # no constraint: everything
    ("N >", 0), ("N == ", 0), ("((", 0),     # does not parse: nothing
    ("N", 0), ('"true"', 0), ("undefined", 0), ("Missing > 1", 0), ("1/0", 0),  # not true: nothing
    ("true", 3),
])
def test_original_semantics(judge, constraint, expected):
    assert len(judge.select(constraint, ads(1, 2, 3))) == expected


def test_runaway_constraint_is_stopped_and_the_judge_recovers(judge):
    judge.time_limit = 1.0
    start = time.monotonic()
    with pytest.raises(ConstraintTooCostly) as refused:
        judge.select(CATASTROPHIC, ads(1, 2, 3))
    assert time.monotonic() - start < 3  # 60 x 0.1 s x 3 ads would be 18 s
    assert str(refused.value) == ("The constraint took longer than 1 s to evaluate "
                                  "(constraint_time_limit): simplify it")
    assert [ad["N"] for ad in judge.select("N == 2", ads(1, 2, 3))] == [2]


def test_runaway_attribute_of_a_job_is_stopped(judge):
    """The expensive part can be the ad itself: a submitted EXPRESSION-ATTR."""
    judge.time_limit = 1.0
    ad = ads(1)[0]
    ad["R"] = classad2.ExprTree('size(string(regexp("(a+)+$", S)))')
    ad["R2"] = classad2.ExprTree(" + ".join(["R"] * 40))
    with pytest.raises(ConstraintTooCostly):
        judge.select("R2 + R2 > 0", [ad])
    assert judge.select("N == 1", [ad]) == [ad]


def test_killed_worker_is_gone(judge):
    judge.time_limit = 0.5
    judge.select("N == 1", ads(1))
    worker = judge._idle.queue[-1]
    with pytest.raises(ConstraintTooCostly):
        judge.select(CATASTROPHIC, ads(1))
    assert worker.proc.poll() is not None  # killed, not left burning a CPU
