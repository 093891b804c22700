"""The WSGI environ keys through which the HTTP layer hands a face what it established."""

#: The request's :class:`~condor_soap.core.policy.Caller` (absent: the trusted anonymous one).
CALLER_KEY = "condor_soap.caller"
#: ``scheme://host[:port]`` as the client addressed the service (through trusted proxies).
PUBLIC_URL_KEY = "condor_soap.public_url"
