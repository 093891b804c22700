"""Who may do what: the caller of the current call, READ/WRITE authorization, token scopes,
job ownership, limits and attribute redaction (docs/security.rst). No HTTP here: the wire
establishes the :class:`Caller` and binds it with :func:`calling`; the core asks :func:`caller`.

The caller travels in a context variable rather than as an argument of every core method:
the core methods mirror the WSDL operations one to one, and the caller is ambient to all of
them, like ``soap->user`` in the original. The default is the trusted anonymous caller, the
original's ``QUEUE_ALL_USERS_TRUSTED`` semantics, so code that never binds a caller (unit
tests, tools) behaves as before.
"""
from __future__ import annotations

import contextlib
import contextvars
import fnmatch
import ipaddress
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Iterator, Optional, Sequence

from condor_soap.core.records import Attr, AttrType
from condor_soap.errors import LimitExceeded, PermissionDenied

if TYPE_CHECKING:
    import classad2

    from condor_soap.config import Config

READ, WRITE = "READ", "WRITE"
REDACTED = "<REDACTED>"
PERMISSION_DENIED = "Permission denied"  # the original's message (spec §4.1 step 6)

#: Spec §4.2. Operations not listed (getVersionString, getPlatformString, the collector ones,
#: and the REST face's own reads: getJobHistory, watchJobs, getConfig) need only the
#: HTTP-level permission, which is READ here.
WRITE_OPERATIONS = frozenset((
    "beginTransaction", "commitTransaction", "abortTransaction", "extendTransaction", "newCluster",
    "removeCluster", "newJob", "removeJob", "holdJob", "releaseJob", "submit", "declareFile",
    "sendFile", "closeSpool", "requestReschedule"))


def permission(operation: str) -> str:
    """READ or WRITE: what ``operation`` needs (spec §4.2)."""
    return WRITE if operation in WRITE_OPERATIONS else READ


#: The REST face's reading of the pool's configuration: READ, and also ``allow_config``.
CONFIG_OPERATION = "getConfig"
#: Knob names that name secrets (keys, passwords, tokens, credentials): never shown.
SECRET_KNOB = re.compile(r"PASSWORD|PASSPHRASE|SECRET|TOKEN|KEY|CRED|PRIVATE|COOKIE", re.I)

COMPUTE_READ, COMPUTE_CREATE, COMPUTE_MODIFY, COMPUTE_CANCEL = (
    "compute.read", "compute.create", "compute.modify", "compute.cancel")
_ANY_COMPUTE = (COMPUTE_READ, COMPUTE_CREATE, COMPUTE_MODIFY, COMPUTE_CANCEL)
_QUERIES = ("queryStartdAds", "queryScheddAds", "queryMasterAds", "querySubmittorAds", "queryLicenseAds",
            "queryStorageAds", "queryAnyAds")
#: HTCondor's scopes per level: condor:/WRITE implies READ, condor:/ADMINISTRATOR both.
_CONDOR_SCOPES = {READ: ("condor:/READ", "condor:/WRITE", "condor:/ADMINISTRATOR"),
                  WRITE: ("condor:/WRITE", "condor:/ADMINISTRATOR")}
_TOKEN_RULES = (
    # operations                                            WLCG scopes (any one)              level
    (("getJobAds", "getJobAd", "getFile", "listSpool", *_QUERIES, "getJobHistory", "watchJobs"),
     (COMPUTE_READ,), READ),
    (("createJobTemplate", "discoverJobRequirements"), (COMPUTE_READ, COMPUTE_CREATE), READ),
    (("getVersionString", "getPlatformString", "getOpenApi"), _ANY_COMPUTE, READ),
    ((CONFIG_OPERATION,), (), READ),  # the pool's configuration, not jobs: condor:/READ only
    (("newCluster", "newJob", "submit", "declareFile", "sendFile"), (COMPUTE_CREATE,), WRITE),
    (("requestReschedule",), (COMPUTE_CREATE, COMPUTE_MODIFY), WRITE),
    (("holdJob", "releaseJob", "closeSpool"), (COMPUTE_MODIFY,), WRITE),
    (("removeJob", "removeCluster"), (COMPUTE_CANCEL,), WRITE),
    (("beginTransaction", "commitTransaction", "abortTransaction", "extendTransaction"),
     (COMPUTE_CREATE, COMPUTE_MODIFY, COMPUTE_CANCEL), WRITE),
    (("insertAd",), (), WRITE),  # the collector, not jobs: HTCondor's condor:/WRITE only
)
#: What a token limited by scopes needs for each operation (SOAP names; the REST face
#: authorizes each route as the SOAP operation it performs): any one of these scopes. On top
#: of, never instead of, the user's own permissions (docs/security.rst, "Token scopes").
TOKEN_SCOPES: dict[str, frozenset[str]] = {
    operation: frozenset(wlcg + _CONDOR_SCOPES[level])
    for operations, wlcg, level in _TOKEN_RULES for operation in operations}


def scope_allows(scopes: Optional[frozenset[str]], operation: str) -> bool:
    """Whether a caller limited to ``scopes`` (None: not limited) may call ``operation``;
    an operation missing from :data:`TOKEN_SCOPES` is refused to every limited caller."""
    return scopes is None or bool(scopes & TOKEN_SCOPES.get(operation, frozenset()))


@dataclass(frozen=True)
class Caller:
    """Who calls: ``user`` None is anonymous (trusted: its Owner is taken as given);
    ``address`` is the client's IP address; ``method`` how the user was authenticated;
    ``scopes`` what a token allows (None: not limited by scope, :data:`TOKEN_SCOPES`)."""

    user: Optional[str] = None
    address: str = ""
    method: str = "anonymous"
    admin: bool = False
    scopes: Optional[frozenset[str]] = None

    @property
    def name(self) -> str:
        """The user as it appears in logs and allow/deny lists."""
        return self.user or "anonymous"

    @property
    def restricted(self) -> bool:
        """True when ownership applies: an authenticated user who is not an administrator."""
        return self.user is not None and not self.admin


ANONYMOUS = Caller()
_CALLER: contextvars.ContextVar[Caller] = contextvars.ContextVar("condor_soap_caller", default=ANONYMOUS)


def caller() -> Caller:
    """The caller of the call in progress."""
    return _CALLER.get()


@contextlib.contextmanager
def calling(who: Caller) -> Iterator[Caller]:
    """Bind ``who`` as the caller for the duration of one call."""
    token = _CALLER.set(who)
    try:
        yield who
    finally:
        _CALLER.reset(token)


# -- allow/deny lists ---------------------------------------------------------------------

def _host_matches(pattern: str, address: str) -> bool:
    """``*``, a glob on the address (``192.168.1.*``) or a network in CIDR form."""
    if "/" in pattern:
        try:
            return ipaddress.ip_address(address) in ipaddress.ip_network(pattern, strict=False)
        except ValueError:
            return False
    return fnmatch.fnmatchcase(address.lower(), pattern.lower())


def entry_matches(pattern: str, user: str, address: str) -> bool:
    """HTCondor-style ``user@host`` entry with ``*`` globs; an entry without ``@`` is a host
    (any user). Anonymous callers match as user ``anonymous``."""
    user_part, at, host_part = pattern.rpartition("@")
    if not at:
        user_part, host_part = "*", pattern
    return fnmatch.fnmatchcase(user, user_part or "*") and _host_matches(host_part or "*", address)


def listed(patterns: Iterable[str], user: str, address: str) -> bool:
    return any(entry_matches(p, user, address) for p in patterns)


# -- the policy ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Policy:
    """The authorization and limit settings, from :class:`~condor_soap.config.Config`."""

    allow_read: Sequence[str] = ("*",)
    deny_read: Sequence[str] = ()
    allow_write: Sequence[str] = ("*",)
    deny_write: Sequence[str] = ()
    admins: Sequence[str] = ()
    users_see_all_jobs: bool = False
    hide_job_attrs: Sequence[str] = ()
    max_file_bytes: int = 0
    max_job_bytes: int = 0
    max_transaction_bytes: int = 0
    max_transactions_per_user: int = 0
    max_jobs_per_query: int = 0
    allow_config: Sequence[str] = ("*",)

    @classmethod
    def from_config(cls, config: "Config") -> "Policy":
        return cls(**{name: getattr(config, name) for name in cls.__dataclass_fields__})

    def is_admin(self, user: Optional[str]) -> bool:
        return user is not None and user in self.admins

    def allows(self, who: Caller, perm: str) -> bool:
        """ALLOW_SOAP/DENY_SOAP at ``perm`` (READ or WRITE); deny wins. WRITE implies READ
        is also needed, as in HTCondor where WRITE access implies READ."""
        levels = (READ,) if perm == READ else (READ, WRITE)
        for level in levels:
            allow, deny = ((self.allow_read, self.deny_read) if level == READ
                           else (self.allow_write, self.deny_write))
            if listed(deny, who.name, who.address) or not listed(allow, who.name, who.address):
                return False
        return True

    def authorize(self, who: Caller, operation: str) -> None:
        """Raise FAIL "Permission denied" unless ``who`` may call ``operation``: allowed at
        its level, for a token limited by scopes granted a scope that allows it, and for the
        configuration listed in ``allow_config``."""
        if not self.allows(who, permission(operation)) or not scope_allows(who.scopes, operation) or (
                operation == CONFIG_OPERATION and not listed(self.allow_config, who.name, who.address)):
            raise PermissionDenied(PERMISSION_DENIED)

    # ownership
    def check_owner(self, who: Caller, owner: Optional[str], message: str = "Not job owner") -> None:
        """Refuse a restricted caller acting on a job someone else owns."""
        if who.restricted and owner != who.user:
            raise PermissionDenied(message)

    def sees(self, who: Caller, owner: Optional[str]) -> bool:
        """Whether ``who`` may see a job owned by ``owner`` in getJobAds."""
        return not who.restricted or self.users_see_all_jobs or owner == who.user

    def submit_owner(self, who: Caller, given: Optional[str]) -> Optional[str]:
        """The Owner a submitted job gets: the authenticated user (an administrator may name
        another); anonymous callers keep what they sent (None: leave the ad alone)."""
        if who.user is None:
            return None
        if given is None:
            return who.user
        if given != who.user and not who.admin:
            raise PermissionDenied(f"Owner '{given}' is not the authenticated user '{who.user}'")
        return given

    # limits
    def check_file(self, name: str, size: int, job_total: int, txn_total: int) -> None:
        """Limits on a declared file of ``size`` bytes; ``job_total``/``txn_total`` include it."""
        if 0 < self.max_file_bytes < size:
            raise LimitExceeded(f"File '{name}' of {size} bytes exceeds the limit of "
                                  f"{self.max_file_bytes} bytes per file (max_file_bytes)")
        if 0 < self.max_job_bytes < job_total:
            raise LimitExceeded(f"File '{name}' brings the job's files to {job_total} bytes, over the "
                                  f"limit of {self.max_job_bytes} bytes per job (max_job_bytes)")
        if 0 < self.max_transaction_bytes < txn_total:
            raise LimitExceeded(f"File '{name}' brings the transaction's files to {txn_total} bytes, over "
                                  f"the limit of {self.max_transaction_bytes} bytes per transaction "
                                  "(max_transaction_bytes)")

    def check_query(self, count: int) -> None:
        """Refuse rather than silently truncate a query over ``max_jobs_per_query``."""
        if 0 < self.max_jobs_per_query < count:
            raise LimitExceeded(f"Query matched {count} jobs; at most {self.max_jobs_per_query} "
                                  "may be returned (max_jobs_per_query): narrow the constraint")

    def redact_ad(self, who: Caller, ad: "classad2.ClassAd") -> None:
        """:meth:`redact` for a ClassAd, in place: hidden attributes it has become ``<REDACTED>``."""
        if self.hide_job_attrs and not who.admin:
            for name in self.hide_job_attrs:
                if name in ad:
                    ad[name] = REDACTED

    def redact(self, who: Caller, ad: list[Attr]) -> list[Attr]:
        """``hide_job_attrs`` values shown as ``<REDACTED>`` (to everyone but administrators)."""
        if not self.hide_job_attrs or who.admin:
            return ad
        hidden = {n.casefold() for n in self.hide_job_attrs}
        return [Attr(a.name, AttrType.STRING, REDACTED) if a.name and a.name.casefold() in hidden else a
                for a in ad]
