"""The policy and credential parsing without HTTP: permission per operation, list entries,
certificate maps, the default caller of the core."""
from __future__ import annotations

import pytest

from condor_soap.auth.credentials import UserMap, parse_map_file
from condor_soap.core import policy
from condor_soap.core.policy import ANONYMOUS, READ, WRITE, Caller, Policy
from condor_soap.errors import CondorSoapError
from condor_soap.rest.face import ROUTES
from condor_soap.soap.application import SERVICES

SPEC_WRITE = {"beginTransaction", "commitTransaction", "abortTransaction", "extendTransaction", "newCluster",
              "removeCluster", "newJob", "removeJob", "holdJob", "releaseJob", "submit", "declareFile",
              "sendFile", "closeSpool", "requestReschedule"}


def test_permission_per_operation_is_spec_4_2():
    operations = {name for service in SERVICES for name in service.public_methods}
    assert SPEC_WRITE <= operations
    assert {op for op in operations if policy.permission(op) == WRITE} == SPEC_WRITE
    for op in ("getJobAds", "getJobAd", "getFile", "listSpool", "discoverJobRequirements",
               "createJobTemplate", "getVersionString", "getPlatformString", "insertAd", "queryAnyAds"):
        assert policy.permission(op) == READ


def test_token_scopes_per_operation():
    operations = {name for service in SERVICES for name in service.public_methods}
    # the REST face's routes name SOAP operations where one exists, and a few of their own
    rest = {route.operation for route in ROUTES}
    assert rest - operations == {"getJobHistory", "watchJobs", "getConfig", "getOpenApi"}
    operations |= rest
    assert set(policy.TOKEN_SCOPES) == operations
    for op in operations:
        # condor:/WRITE allows everything, condor:/READ exactly the READ level (insertAd aside)
        assert policy.scope_allows(frozenset({"condor:/WRITE"}), op)
        assert policy.scope_allows(frozenset({"condor:/ADMINISTRATOR"}), op)
        read_level = policy.permission(op) == READ and op != "insertAd"
        if op == "getConfig":  # the pool's configuration: HTCondor's READ, no compute scope
            assert not any(policy.scope_allows(frozenset({s}), op) for s in ("compute.read", "compute.create"))
        assert policy.scope_allows(frozenset({"condor:/READ"}), op) is read_level
        assert policy.scope_allows(None, op)  # not a token, or a token without limits
        assert not policy.scope_allows(frozenset(), op)
    queries = {op for op in operations if op.startswith("query")}
    assert len(queries) == 7
    assert all(policy.scope_allows(frozenset({"compute.read"}), op) for op in queries)
    assert not any(policy.scope_allows(frozenset({"compute.create"}), op) for op in queries)
    assert not any(policy.scope_allows(frozenset({s}), "insertAd") for s in
                   ("compute.read", "compute.create", "compute.modify", "compute.cancel", "condor:/READ"))
    assert not policy.scope_allows(frozenset({"compute.read", "condor:/READ"}), "someFutureOperation")
    p = Policy()
    with pytest.raises(CondorSoapError, match="^Permission denied$"):
        p.authorize(Caller("alice", scopes=frozenset({"compute.read"})), "removeJob")
    p.authorize(Caller("alice", scopes=frozenset({"compute.cancel"})), "removeJob")
    p.authorize(Caller("alice"), "someFutureOperation")  # unlimited callers: READ, as before


@pytest.mark.parametrize("pattern, user, address, expected", [
    ("*", "alice", "10.1.2.3", True),
    ("alice@*", "alice", "10.1.2.3", True),
    ("alice@*", "bob", "10.1.2.3", False),
    ("*@10.0.0.0/8", "bob", "10.1.2.3", True),
    ("*@10.0.0.0/8", "bob", "11.1.2.3", False),
    ("10.1.2.*", "bob", "10.1.2.3", True),   # no @: a host
    ("portal-*@192.168.1.5", "portal-a", "192.168.1.5", True),
    ("anonymous@127.0.0.1", "anonymous", "127.0.0.1", True),
    ("*@10.0.0.0/8", "bob", "not-an-ip", False),
])
def test_entries(pattern, user, address, expected):
    assert policy.entry_matches(pattern, user, address) is expected


def test_deny_wins_and_write_needs_read():
    p = Policy(allow_write=("alice@*",), deny_read=("*@10.*",))
    assert p.allows(Caller("alice", "127.0.0.1"), WRITE)
    assert not p.allows(Caller("alice", "10.0.0.1"), WRITE)
    assert not p.allows(Caller("bob", "127.0.0.1"), WRITE) and p.allows(Caller("bob", "127.0.0.1"), READ)
    with pytest.raises(CondorSoapError, match="^Permission denied$"):
        p.authorize(Caller("bob", "127.0.0.1"), "submit")


def test_submit_owner():
    p = Policy(admins=("root-admin",))
    alice, admin = Caller("alice"), Caller("root-admin", admin=True)
    assert p.submit_owner(ANONYMOUS, "x") is None  # anonymous: the ad as sent
    assert p.submit_owner(alice, None) == "alice" and p.submit_owner(alice, "alice") == "alice"
    with pytest.raises(CondorSoapError, match="^Owner 'bob' is not the authenticated user 'alice'$"):
        p.submit_owner(alice, "bob")
    assert p.submit_owner(admin, "bob") == "bob"


def test_core_default_caller_is_trusted_anonymous():
    assert policy.caller() is ANONYMOUS and not ANONYMOUS.restricted
    with policy.calling(Caller("alice")) as who:
        assert policy.caller() is who and who.restricted
    assert policy.caller() is ANONYMOUS


def test_map_file_forms(tmp_path):
    path = tmp_path / "map"
    path.write_text('# comment\nGSI "^x$" ignored\nSSL /^CN=([a-z]+),O=Example$/ \\1\n'
                    'SSL "^CN=Zed Q,O=Example$" zed\nSSL "CN=(.*)" \\1\n'
                    'SCITOKENS /^https\\:\\/\\/issuer\\.example,([a-z]+)$/ \\1\n'
                    'IDTOKENS\t"^admin@pool$" root-admin\n')
    assert [(method, user) for method, _, user in parse_map_file(str(path))] == [
        ("SSL", "\\1"), ("SSL", "zed"), ("SSL", "\\1"), ("SCITOKENS", "\\1"), ("IDTOKENS", "root-admin")]
    users = UserMap(str(path))
    assert users.user("SSL", "CN=amy,O=Example") == "amy"
    assert users.user("SSL", "CN=Zed Q,O=Example") == "zed"
    assert users.user("SSL", "CN=evil user") is None  # \1 captured no user name
    assert users.user("SSL", "O=Other") is None
    # each method has its own lines: a token subject never matches a certificate line
    assert users.user("SCITOKENS", "https://issuer.example,amy") == "amy"
    assert users.user("SCITOKENS", "https://other.example,amy") is None
    assert users.user("SCITOKENS", "CN=amy,O=Example") is None
    assert users.user("IDTOKENS", "admin@pool") == "root-admin"
    assert users.user("SSL", "admin@pool") is None
