"""Persistence: typed models, sessions, migrations."""

from remedy.db.migrate import current_revision, upgrade
from remedy.db.models import Action, AuditEvent, Base, Draft, PriorityOverride, SlackThread, UserState
from remedy.db.models_bulk import BulkOperation, EpicFocus  # noqa: F401  (registers the tables)
from remedy.db.models_digest import DigestRun, DigestSchedule  # noqa: F401  (registers the tables)
from remedy.db.models_insights import PostedRisk  # noqa: F401  (registers the table)
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
