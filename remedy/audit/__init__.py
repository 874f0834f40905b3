"""Append-only, hash-chained audit trail."""

from remedy.audit.chain import GENESIS, AuditWriter, VerifyResult, event_hash, verify

__all__ = ["GENESIS", "AuditWriter", "VerifyResult", "event_hash", "verify"]
