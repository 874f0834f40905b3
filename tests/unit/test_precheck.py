"""When is a go/no-go card too stale to obey? Too old, the ring fell below its threshold, or a
new blocker appeared — not merely a number that moved a little."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from remedy.remediation.precheck import changed

LIMIT = timedelta(hours=4)


def _seen(**over: Any) -> dict[str, Any]:
    return {"ring_label": "Pilot", "rate": 96.0, "threshold": 95.0, "rate_ok": True, "blockers": [], **over}


def test_small_moves_are_not_material() -> None:
    assert changed(_seen(), _seen(rate=95.5), timedelta(hours=1), LIMIT) is None
    assert changed(_seen(rate=80.0, rate_ok=False), _seen(rate=79.0, rate_ok=False), timedelta(0), LIMIT) is None


def test_age_rate_drop_and_new_blockers_are() -> None:
    assert "4.5 h old" in (changed(_seen(), _seen(), timedelta(hours=4.5), LIMIT) or "")
    dropped = changed(_seen(), _seen(rate=91.2, rate_ok=False), timedelta(minutes=5), LIMIT)
    assert dropped == "Pilot dropped from 96.0% to 91.2%, below its 95% threshold"
    assert changed(_seen(), _seen(blockers=["CPE-3301"]), timedelta(0), LIMIT) == "new open blocker: CPE-3301"
    assert changed(_seen(blockers=["CPE-3301"]), _seen(blockers=["CPE-3301"]), timedelta(0), LIMIT) is None
