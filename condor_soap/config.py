"""Service configuration: one table of settings, read once and passed down.

Modelled on waitress's ``Adjustments``: every setting is a (name, caster, default, help) row
of :data:`SETTINGS`; :class:`Config` casts every value through it and rejects unknown names.
The same table feeds the command line (:meth:`Config.from_argv`) and HTCondor-style knobs
(:meth:`Config.from_param`, e.g. ``MAX_SOAP_TRANSACTION_DURATION``).
"""
from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping, Optional, Sequence


def _optional_str(value: Any) -> Optional[str]:
    return None if value in (None, "") else str(value)


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        if value.strip().lower() in ("1", "true", "yes", "on"):
            return True
        if value.strip().lower() in ("0", "false", "no", "off", ""):
            return False
        raise ValueError(f"not a boolean: {value!r}")
    return bool(value)


def _auto_bool(value: Any) -> Optional[bool]:
    """True, False, or None for "auto" (decided by the service)."""
    if value is None or (isinstance(value, str) and value.strip().lower() == "auto"):
        return None
    return _bool(value)


def _optional_int(value: Any) -> Optional[int]:
    return None if value in (None, "") else int(value)


def _limit(value: Any) -> int:
    """A count where 0 or a negative number (RESTD's -1) means no limit."""
    return max(0, int(value))


def _list(value: Any) -> tuple[str, ...]:
    """A list setting: a sequence, or a string of comma- or space-separated items."""
    items = value.replace(",", " ").split() if isinstance(value, str) else value
    return tuple(str(item).strip() for item in items if str(item).strip())


@dataclass(frozen=True)
class Setting:
    name: str
    cast: Callable[[Any], Any]
    default: Any
    help: str
    knob: Optional[str] = None  # the HTCondor configuration knob that sets it, if any
    shown_default: Optional[str] = None  # the default in words, when its value does not say it
    group: str = ""  # the section of ``serve --help`` (one of GROUPS)

    def metavar(self) -> str:
        """The option's value placeholder in ``--help``."""
        if self.cast in _METAVARS:
            return _METAVARS[self.cast]
        if self.name.endswith(("_file", "_log")):
            return "FILE"
        if self.name.endswith(("_dir", "_directory", "_root")):
            return "DIR"
        return {"host": "ADDRESS", "backend": "|".join(BACKENDS)}.get(self.name, "TEXT")

    def default_text(self) -> str:
        """How ``--help`` and the docs state the default."""
        if self.shown_default is not None:
            return self.shown_default
        if self.default is None or self.default == ():
            return "none"
        if isinstance(self.default, bool):
            return str(self.default).lower()
        if isinstance(self.default, tuple):
            return ",".join(self.default)
        return str(self.default)


def _group(name: str, *settings: Setting) -> tuple[Setting, ...]:
    return tuple(replace(s, group=name) for s in settings)


def _log_level(value: Any) -> str:
    level = str(value).strip().upper()
    if level not in LOG_LEVELS:
        raise ValueError(f"log_level must be one of {', '.join(LOG_LEVELS)}, not {value!r}")
    return level


def _log_format(value: Any) -> str:
    fmt = str(value).strip().lower()
    if fmt not in LOG_FORMATS:
        raise ValueError(f"log_format must be one of {', '.join(LOG_FORMATS)}, not {value!r}")
    return fmt


_METAVARS: dict[Callable[[Any], Any], str] = {
    int: "N", float: "SECONDS", _bool: "true|false", _auto_bool: "auto|true|false", _list: "LIST",
    _log_level: "LEVEL", _log_format: "text|json", _optional_int: "N", _limit: "N"}
BACKENDS = ("local", "htcondor")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")
_GiB = 1 << 30

#: The sections of ``condor-soap serve --help``, in order, with their descriptions.
GROUPS: dict[str, str] = {
    "listening": "where the service listens and what it serves besides SOAP",
    "backend": "the pool behind the service and where its state lives",
    "transactions": "transaction leases and uploads (spec §4.3, §4.7)",
    "security": "authentication and authorization (docs/security.rst)",
    "limits": "what one request, user or query may use (0 = no limit)",
    "watch": "REST job watch streams (GET /v1/jobs/watch)",
    "logging": "the service log (stderr) and the audit log",
}

SETTINGS: tuple[Setting, ...] = (
    *_group(
        "listening",
        Setting("host", str, "127.0.0.1", "address to listen on"),
        Setting("port", int, 8080, "TCP port to listen on; 0 = any free port"),
        Setting("threads", int, 8, "waitress worker threads"),
        # slow and half-open connections (docs/reliability.rst): a connection being read costs
        # no thread, only a descriptor; past connection_limit new clients wait in the backlog
        Setting("connection_limit", int, 1000,
                "open client connections served at once (waitress alone allows 100)"),
        Setting("channel_timeout", int, 60,
                "seconds a connection may sit idle (no request in progress) before it is closed"),
        Setting("backlog", int, 1024, "connections the kernel queues while connection_limit is reached"),
        Setting("web_root", _optional_str, None,
                "directory whose files GET serves at their paths, as the original's WEB_ROOT_DIR "
                "did: no listings, no dot files, nothing outside it"),
    ),
    *_group(
        "backend",
        Setting("backend", str, "local", "'local' (embedded pool) or 'htcondor' (a real pool)"),
        Setting("state_dir", str, os.path.join(os.path.expanduser("~"), ".local", "state", "condor-soap"),
                "directory for the journal, staged files and the local backend's queue"),
        Setting("max_running_jobs", int, 2, "local backend: jobs run at once"),
        Setting("history_size", int, 10000,
                "local backend: jobs kept in the history once they left the queue (oldest dropped)"),
        # the htcondor backend finds its pool through CONDOR_CONFIG / _CONDOR_* as usual
        Setting("schedd_name", _optional_str, None, "htcondor backend: the schedd's Name",
                shown_default="SCHEDD_HOST, else the local schedd, else the only one"),
        Setting("ready_timeout", float, 5.0,
                "seconds GET /readyz waits for the backend to answer before it reports not ready"),
    ),
    *_group(
        "transactions",
        Setting("max_transaction_duration", int, -1, "cap on a transaction's lease in seconds",
                "MAX_SOAP_TRANSACTION_DURATION", shown_default="-1 = no cap"),
        Setting("leave_in_queue", _optional_str, None,
                "expression ANDed into LeaveJobInQueue by createJobTemplate", "SOAP_LEAVE_IN_QUEUE"),
        Setting("blob_cache_bytes", int, _GiB,
                "bytes of MD5-verified uploads kept to answer ALREADYEXISTS; 0 = off",
                shown_default="1073741824 = 1 GiB"),
    ),
    *_group(
        "security",
        Setting("password_file", _optional_str, None,
                "HTTP Basic users: 'user:scrypt$...' lines written by 'condor-soap passwd'"),
        Setting("token_file", _optional_str, None,
                "bearer tokens: 'user:sha256' lines written by 'condor-soap token'"),
        Setting("cert_map_file", _optional_str, None,
                "the user map, CERTIFICATE_MAPFILE style: certificate subjects (SSL \"<regex>\" <user>), "
                "token issuer,subject (SCITOKENS /<regex>/ <user>) and IDTOKEN subjects (IDTOKENS ...)"),
        # JWT bearer tokens (docs/security.rst, "Tokens")
        Setting("token_issuers", _list, (),
                "trusted token issuers (SciTokens/WLCG): ISSUER (keys fetched over HTTPS from its "
                "/.well-known/openid-configuration) or ISSUER=JWKS_FILE"),
        Setting("token_audiences", _list, (),
                "a token's aud must name one of these (e.g. https://soap.example.org, "
                "https://wlcg.cern.ch/jwt/v1/any)"),
        Setting("token_user_claim", str, "sub", "the claim that names the user (mapped by SCITOKENS lines)"),
        Setting("token_leeway", int, 60, "seconds of clock skew allowed when checking exp, nbf and iat"),
        Setting("token_jwks_refresh", int, 3600, "seconds an issuer's fetched keys are used before a refetch"),
        Setting("token_jwks_min_interval", int, 60,
                "fewest seconds between two fetches of one issuer's keys (a token with an unknown key "
                "waits for it)"),
        Setting("token_ca_file", _optional_str, None, "CA bundle for fetching issuers' keys over HTTPS",
                shown_default="the system's"),
        Setting("sec_password_directory", _optional_str, None,
                "the pool's signing keys: HTCondor IDTOKENs signed with them are accepted "
                "(needs trust_domain)", "SEC_PASSWORD_DIRECTORY"),
        Setting("trust_domain", _optional_str, None, "the pool's TRUST_DOMAIN: an IDTOKEN's iss", "TRUST_DOMAIN"),
        Setting("trusted_proxies", _list, (),
                "addresses/CIDRs whose X-Forwarded-* and X-SSL-Client-* headers are believed"),
        Setting("allow_anonymous", _auto_bool, None,
                "unauthenticated calls (Owner as the client sends it): true, false, or auto = only "
                "direct calls to a loopback bind", "QUEUE_ALL_USERS_TRUSTED", shown_default="auto"),
        # authorization (ALLOW_SOAP/DENY_SOAP; entries user@host, host = address, glob or CIDR)
        Setting("allow_read", _list, ("*",), "who may call READ operations (user@host patterns)"),
        Setting("deny_read", _list, (), "who may not call READ operations (wins over allow_read)"),
        Setting("allow_write", _list, ("*",), "who may call WRITE operations (also needs READ)"),
        Setting("deny_write", _list, (), "who may not call WRITE operations (wins over allow_write)"),
        Setting("admins", _list, (), "users who may act on every job and submit for any Owner"),
        Setting("users_see_all_jobs", _bool, False,
                "getJobAds returns every user's jobs, not only the caller's"),
        Setting("hide_job_attrs", _list, (),
                "job attributes whose values are shown as <REDACTED>", "RESTD_HIDE_JOB_ATTRS"),
        Setting("allow_config", _list, ("*",),
                "who may read the pool's configuration at /v1/config (user@host patterns; knobs that "
                "name secrets are never shown)"),
        Setting("cors_origins", _list, (),
                "origins whose pages may call the REST face from a browser (CORS; '*' = any)",
                shown_default="none: no CORS headers"),
    ),
    *_group(
        "limits",
        Setting("max_request_body_size", int, _GiB, "largest request body accepted, in bytes",
                shown_default="1073741824 = 1 GiB"),
        Setting("max_file_bytes", int, 0,
                "largest declared file, in bytes; 0 = no limit but the wire's (size is an xsd:int)"),
        Setting("max_job_bytes", int, 4 * _GiB, "largest total of one job's declared files",
                shown_default="4294967296 = 4 GiB"),
        Setting("max_transaction_bytes", int, 16 * _GiB, "largest total of one transaction's declared files",
                shown_default="17179869184 = 16 GiB"),
        Setting("max_transactions_per_user", int, 100, "open transactions per authenticated user"),
        Setting("constraint_time_limit", float, 10.0,
                "seconds a query's constraint may take to evaluate before the query is FAIL"),
        Setting("max_jobs_per_query", _limit, 10000,
                "most job ads a query returns: more is FAIL for getJobAds, the first ones for the "
                "REST face (as RESTD_MAX_JOBS; 0 or negative = no limit)", "RESTD_MAX_JOBS"),
        Setting("max_expression_length", int, 1 << 20,
                "longest ClassAd expression text a client may send (constraint, EXPRESSION-ATTR value, "
                "requirements), in characters", shown_default="1048576 = 1 MiB"),
        Setting("max_expression_depth", int, 2000,
                "deepest ClassAd expression a client may send, in operator levels (classad2 crashes "
                "the process past ~30,000; evaluation gives up past ~400)"),
        Setting("max_auth_failures", int, 10,
                "failed logins from one client address within auth_failure_window before it gets "
                "429 Too Many Requests"),
        Setting("auth_failure_window", int, 60, "seconds over which max_auth_failures counts"),
    ),
    *_group(
        "watch",
        Setting("max_watchers", _optional_int, None,
                "watch streams at once (each holds one of the threads; more answer 503); below threads",
                shown_default="half the threads"),
        Setting("watch_interval", float, 2.0, "seconds between polls of the queue while someone watches"),
        Setting("watch_heartbeat", float, 15.0, "seconds between keep-alive comments on a quiet watch stream"),
        Setting("watch_max_seconds", float, 300.0,
                "a watch stream ends after this long (the client reconnects with Last-Event-ID)"),
    ),
    *_group(
        "logging",
        Setting("log_level", _log_level, "INFO", f"service log level: {', '.join(LOG_LEVELS)}"),
        Setting("log_format", _log_format, "text",
                "service log lines: 'text', or 'json' = one object per line"),
        Setting("audit_log", _optional_str, None,
                "JSON-lines audit log of writes and authentication failures; 'off' = none",
                shown_default="<state_dir>/audit.log"),
    ),
)

_BY_NAME = {s.name: s for s in SETTINGS}


class Config:
    """Validated settings. ``Config(port=0, backend="local")``; unknown names raise."""

    def __init__(self, **kw: Any) -> None:
        for setting in SETTINGS:
            setattr(self, setting.name, setting.default)
        for name, value in kw.items():
            if name not in _BY_NAME:
                raise ValueError(f"Unknown setting {name!r}")
            setattr(self, name, _BY_NAME[name].cast(value))
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not {self.backend!r}")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be 0..65535, not {self.port}")
        for name in ("constraint_time_limit", "ready_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0")
        if self.max_watchers is None:
            self.max_watchers = self.threads // 2
        if not 0 <= self.max_watchers < self.threads:
            raise ValueError("max_watchers must be >= 0 and below threads (each watcher holds a thread)")
        if min(self.watch_interval, self.watch_heartbeat, self.watch_max_seconds) <= 0:
            raise ValueError("watch_interval, watch_heartbeat and watch_max_seconds must be > 0")
        if self.history_size < 0:
            raise ValueError("history_size must be >= 0")
        if self.max_expression_length < 1 or self.max_expression_depth < 1:
            raise ValueError("max_expression_length and max_expression_depth must be at least 1")
        if min(self.connection_limit, self.channel_timeout, self.backlog) < 1:
            raise ValueError("connection_limit, channel_timeout and backlog must be at least 1")
        if self.threads < 1 or self.max_running_jobs < 1:
            raise ValueError("threads and max_running_jobs must be at least 1")
        self.state_dir = os.path.abspath(self.state_dir)
        if self.audit_log is None:
            self.audit_log = os.path.join(self.state_dir, "audit.log")
        for name in ("max_file_bytes", "max_job_bytes", "max_transaction_bytes",
                     "max_transactions_per_user", "max_jobs_per_query", "max_auth_failures", "auth_failure_window",
                     "token_leeway", "token_jwks_refresh", "token_jwks_min_interval"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        self._check_tokens()

    def _check_tokens(self) -> None:
        for entry in self.token_issuers:
            issuer, _, jwks_file = entry.partition("=")
            if not jwks_file and not issuer.startswith("https://"):
                raise ValueError(f"token issuer {issuer!r}: keys are fetched over HTTPS only "
                                 "(an https:// issuer, or ISSUER=JWKS_FILE)")
        if not self.token_user_claim:
            raise ValueError("token_user_claim must name a claim (default: sub)")
        if self.token_issuers and not self.token_audiences:
            raise ValueError("token_issuers needs token_audiences (the aud values naming this service)")
        if self.sec_password_directory and not self.trust_domain:
            raise ValueError("sec_password_directory needs trust_domain (the iss of the pool's IDTOKENs)")

    def __repr__(self) -> str:
        body = ", ".join(f"{s.name}={getattr(self, s.name)!r}" for s in SETTINGS)
        return f"Config({body})"

    @classmethod
    def from_param(cls, param: Mapping[str, Any], **kw: Any) -> "Config":
        """Read the knobs in ``param`` (``htcondor2.param`` or a dict); ``kw`` wins."""
        values = {s.name: param[s.knob] for s in SETTINGS if s.knob and s.knob in param}
        values.update(kw)
        return cls(**values)

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        """Add ``--name`` options for every setting, one argument group per :data:`GROUPS`
        entry (defaults left to :class:`Config`; each option's help states it once)."""
        groups = {name: parser.add_argument_group(name, about) for name, about in GROUPS.items()}
        for s in SETTINGS:
            knob = f"; HTCondor knob {s.knob}" if s.knob else ""
            groups[s.group].add_argument("--" + s.name.replace("_", "-"), dest=s.name, default=None,
                                         metavar=s.metavar(),
                                         help=f"{s.help} (default: {s.default_text()}{knob})")

    @classmethod
    def from_argv(cls, argv: Sequence[str]) -> "Config":
        parser = argparse.ArgumentParser(prog="condor-soap serve")
        cls.add_arguments(parser)
        return cls.from_namespace(parser.parse_args(list(argv)))

    @classmethod
    def from_namespace(cls, ns: argparse.Namespace) -> "Config":
        return cls(**{s.name: getattr(ns, s.name) for s in SETTINGS if getattr(ns, s.name, None) is not None})
