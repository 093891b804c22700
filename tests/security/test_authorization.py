"""ALLOW/DENY READ and WRITE, and who owns jobs, files and transactions (local backend)."""
from __future__ import annotations

import pytest

from tests.security.conftest import SLEEPER, attrs, submit


def test_allow_deny_read_write(serve):
    svc = serve(host="0.0.0.0", allow_write="alice@127.0.0.1", deny_read="bob@*")
    alice, bob, admin = svc.client("alice"), svc.client("bob"), svc.client("root-admin")
    assert alice.beginTransaction(60).status.code == "SUCCESS"
    assert alice.getJobAds(None, None).status.code == "SUCCESS"
    # root-admin may read (allow_read defaults to *) but is not in allow_write
    assert admin.getJobAds(None, None).status.code == "SUCCESS"
    denied = admin.beginTransaction(60).status
    assert (denied.code, denied.message) == ("FAIL", "Permission denied")
    assert admin.requestReschedule().message == "Permission denied"
    audited = [l for l in svc.audit() if l["user"] == "root-admin"]
    assert [(l["operation"], l["outcome"], l["message"]) for l in audited] == [
        ("beginTransaction", "FAIL", "Permission denied"), ("requestReschedule", "FAIL", "Permission denied")]
    # bob is denied READ: every operation, WRITE ones too (WRITE needs READ)
    assert bob.getJobAds(None, None).status.message == "Permission denied"
    assert bob.createJobTemplate(1, 0, None, "VANILLA", "x", None, None).status.message == "Permission denied"
    assert bob.getVersionString().status.message == "Permission denied"
    collector = svc.client("bob", service="condorCollector")
    assert collector.insertAd("GENERIC-AD-TYPE", {"item": []}).message == "Permission denied"


def test_allow_by_network(serve):
    svc = serve(host="0.0.0.0", allow_write="*@10.0.0.0/8")
    alice = svc.client("alice")
    assert alice.getJobAds(None, None).status.code == "SUCCESS"
    assert alice.beginTransaction(60).status.message == "Permission denied"
    assert serve(host="0.0.0.0", allow_write="*@127.0.0.0/8").client("alice").beginTransaction(60) \
        .status.code == "SUCCESS"


def test_authenticated_user_is_the_owner(serve):
    svc = serve(host="0.0.0.0", admins="root-admin")
    alice = svc.client("alice")
    _, cluster, proc = submit(alice)  # no Owner: it becomes alice
    assert attrs(alice.getJobAd(None, cluster, proc).classAd)["Owner"] == "alice"
    _, cluster, proc = submit(alice, owner="alice")
    assert attrs(alice.getJobAd(None, cluster, proc).classAd)["Owner"] == "alice"
    # a template for someone else may be built; submitting it is refused
    txn = alice.beginTransaction(60).transaction
    cluster = alice.newCluster(txn).integer
    proc = alice.newJob(txn, cluster).integer
    template = alice.createJobTemplate(cluster, proc, "bob", "VANILLA", "/bin/true", None, None)
    assert template.status.code == "SUCCESS"
    items = [{"name": i.name, "type": i.type, "value": i.value or ""} for i in template.classAd.item]
    refused = alice.submit(txn, cluster, proc, {"item": items}).status
    assert (refused.code, refused.message) == ("FAIL", "Owner 'bob' is not the authenticated user 'alice'")
    # an administrator may submit for anyone
    _, cluster, proc = submit(svc.client("root-admin"), owner="bob")
    assert attrs(svc.client("bob").getJobAd(None, cluster, proc).classAd)["Owner"] == "bob"
    assert alice.getJobAd(None, cluster, proc).status.message == "Not job owner"


def test_users_cannot_see_or_touch_each_other(serve):
    svc = serve(host="0.0.0.0", admins="root-admin")
    alice, bob, admin = svc.client("alice"), svc.client("bob"), svc.client("root-admin")
    _, cluster, proc = submit(alice)
    _, bob_cluster, bob_proc = submit(bob)

    def jobs(proxy):
        return sorted((int(attrs(ad)["ClusterId"]), attrs(ad)["Owner"]) for ad in proxy.getJobAds(None, None).classAdArray.item)

    assert jobs(alice) == [(cluster, "alice")]
    assert jobs(bob) == [(bob_cluster, "bob")]
    assert jobs(admin) == sorted([(cluster, "alice"), (bob_cluster, "bob")])

    def refused(status, message="Not job owner"):
        return status.code == "FAIL" and status.message == message

    assert refused(bob.getJobAd(None, cluster, proc).status)
    assert refused(bob.listSpool(None, cluster, proc).status)
    assert refused(bob.getFile(None, cluster, proc, "sleeper.sh", 0, 10).status)
    assert refused(bob.holdJob(None, cluster, proc, "mine now", False, False, False))
    assert refused(bob.releaseJob(None, cluster, proc, "x", False, False))
    assert refused(bob.closeSpool(None, cluster, proc))
    assert refused(bob.removeJob(None, cluster, proc, "x", False))
    assert refused(bob.removeCluster(None, cluster, "x"), "Not cluster owner")
    # inside bob's own transaction too
    txn = bob.beginTransaction(60).transaction
    assert refused(bob.holdJob(txn, cluster, proc, "x", False, False, False))
    assert refused(bob.removeCluster(txn, cluster, "x"), "Not cluster owner")
    # alice's transaction is not bob's: as if it did not exist
    alice_txn, new_cluster, new_proc = submit(alice, commit=False)
    for status in (bob.commitTransaction(alice_txn), bob.abortTransaction(alice_txn),
                   bob.extendTransaction(alice_txn, 60).status, bob.newCluster(alice_txn).status,
                   bob.sendFile(alice_txn, new_cluster, new_proc, "sleeper.sh", 0, SLEEPER),
                   bob.getJobAds(alice_txn, None).status, bob.listSpool(alice_txn, new_cluster, new_proc).status):
        assert status.code == "INVALIDTRANSACTION", status
    assert alice.commitTransaction(alice_txn).code == "SUCCESS"
    # alice's own job: all of it works; the admin may act on it
    assert alice.getFile(None, cluster, proc, "sleeper.sh", 0, 100).data == SLEEPER
    assert [f.name for f in alice.listSpool(None, cluster, proc).info.item] == ["sleeper.sh"]
    assert admin.getFile(None, cluster, proc, "sleeper.sh", 0, 100).data == SLEEPER
    assert admin.holdJob(None, cluster, proc, "admin", False, False, False).code == "SUCCESS"
    assert alice.releaseJob(None, cluster, proc, "mine", False, False).code == "SUCCESS"
    assert alice.removeCluster(None, cluster, "done").code == "SUCCESS"
    assert bob.removeJob(None, bob_cluster, bob_proc, "done", False).code == "SUCCESS"
    assert admin.removeCluster(None, new_cluster, "done").code == "SUCCESS"


def test_users_see_all_jobs(serve):
    svc = serve(host="0.0.0.0", users_see_all_jobs=True)
    alice, bob = svc.client("alice"), svc.client("bob")
    _, cluster, proc = submit(alice)
    assert [attrs(ad)["Owner"] for ad in bob.getJobAds(None, None).classAdArray.item] == ["alice"]
    assert bob.getJobAd(None, cluster, proc).status.message == "Not job owner"  # seeing is not acting


def test_anonymous_keeps_the_original_trust(serve):
    svc = serve()
    anonymous = svc.client()
    _, cluster, proc = submit(anonymous, owner="whoever")
    assert attrs(anonymous.getJobAd(None, cluster, proc).classAd)["Owner"] == "whoever"
    # but an anonymous caller cannot use an authenticated user's transaction
    txn = svc.client("alice").beginTransaction(60).transaction
    assert anonymous.abortTransaction(txn).code == "INVALIDTRANSACTION"


@pytest.mark.parametrize("limit", [1, 2])
def test_open_transactions_per_user(serve, limit):
    svc = serve(host="0.0.0.0", max_transactions_per_user=limit)
    alice, bob = svc.client("alice"), svc.client("bob")
    txns = [alice.beginTransaction(60).transaction for _ in range(limit)]
    over = alice.beginTransaction(60).status
    assert (over.code, over.message) == (
        "FAIL", f"User 'alice' already has {limit} open transactions, the limit (max_transactions_per_user)")
    assert bob.beginTransaction(60).status.code == "SUCCESS"
    assert alice.abortTransaction(txns[0]).code == "SUCCESS"
    assert alice.beginTransaction(60).status.code == "SUCCESS"
