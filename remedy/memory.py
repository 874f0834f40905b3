"""What remedy remembers about each user between commands (focus ticket, last seen)."""

from __future__ import annotations

from sqlalchemy import select

from remedy.db.models import UserState, utcnow
from remedy.db.session import Database


def get_focus(db: Database, slack_user_id: str) -> str | None:
    with db.session() as s:
        return s.scalar(select(UserState.focus_key).where(UserState.slack_user_id == slack_user_id))


def set_focus(db: Database, slack_user_id: str, key: str) -> None:
    with db.session() as s:
        row = s.get(UserState, slack_user_id)
        if row is None:
            s.add(UserState(slack_user_id=slack_user_id, focus_key=key, last_seen_at=utcnow()))
        else:
            row.focus_key, row.last_seen_at = key, utcnow()
