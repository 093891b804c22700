"""Credential files (passwords, tokens, certificate map) and the audit log; no HTTP here."""
