"""Persistence: typed models, sessions, migrations."""

from remedy.db.migrate import current_revision, upgrade
from remedy.db.models import Action, AuditEvent, Base, Draft, PriorityOverride, SlackThread, UserState
from remedy.db.session import Database, make_engine

__all__ = [
    "Action",
    "AuditEvent",
    "Base",
    "Database",
    "Draft",
    "PriorityOverride",
    "SlackThread",
    "UserState",
    "current_revision",
    "make_engine",
    "upgrade",
]
