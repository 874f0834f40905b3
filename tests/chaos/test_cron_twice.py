"""Two `remedy cron` processes started by mistake, over digests scheduled through the app: each channel's
digest is still posted once.

Time, in real processes: `remedy cron` decides which slots are due on the wall clock
(``datetime.now(UTC)``), and the worker's jobs read "now" from ``Services.clock``, which is the wall clock
too in a real process (only the embedded runtime swaps in the simulators' clock, which is why
tests/unit/test_digest.py can move time freely). Neither can be injected into a subprocess, so the test
schedules the digests for the next wall-clock minute ("HH:MM UTC daily"): set before that minute, the
digest is due today, and once the minute has passed, the start-up tick of cron (which catches up the
latest 5-minute slot of the ``digests`` entry at once) runs it. Both cron processes start together and
tick every 0.5 s, racing for every slot; each digest must appear once, its run recorded once, audited once.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from remedy.db.models_digest import DigestRun
from remedy.sandbox.run import HOME_CHANNEL
from remedy.sandbox.slack_records import Channel
from tests.chaos.commands import finished
from tests.chaos.conftest import ChaosReport
from tests.chaos.procs import Stack, stack, wait_for

CHANNELS = (HOME_CHANNEL, "C0CHAOSOPS")


def _digests(st: Stack, channel: str) -> int:
    return sum(1 for m in st.sandbox.slack_state.messages(channel) if m.text.startswith("📰 Daily digest"))


def _next_minute(margin: float = 3.0) -> datetime:
    """The next whole minute at least ``margin`` seconds away (time for the schedule to be stored first)."""
    now = datetime.now(UTC)
    target = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return target + timedelta(minutes=1) if (target - now).total_seconds() < margin else target


@pytest.mark.timeout(240)
def test_two_cron_processes_post_each_digest_once(chaos_pg: str, chaos_redis: str, chaos_report: ChaosReport,
                                                  tmp_path: Path) -> None:
    with stack(chaos_pg, chaos_redis, tmp_path, fleet_size=30) as st:
        st.sandbox.slack_state.channels[CHANNELS[1]] = Channel(CHANNELS[1], "chaos-ops")
        st.worker()
        at = _next_minute()
        for channel in CHANNELS:
            said = st.slash(f"digest here {at:%H:%M} UTC daily", channel=channel)
            assert f"Next digest: {at:%a} {at.day} {at:%b} {at:%H:%M} UTC" in finished(st, said), st.view(
                said.response_url)
        time.sleep(max(0.0, (at - datetime.now(UTC)).total_seconds()) + 0.5)
        crons = [st.cron(every=0.5), st.cron(every=0.5)]
        wait_for("a digest in each channel", lambda: all(_digests(st, c) for c in CHANNELS), 90)
        time.sleep(2)  # both crons keep ticking over the same slots
        for proc in crons:  # …and restart, catching up what they think they missed
            proc.stop()
        crons = [st.cron(every=0.5), st.cron(every=0.5)]
        time.sleep(2)
        assert all(proc.alive for proc in crons)

        posted = {c: _digests(st, c) for c in CHANNELS}
        with st.db.session() as s:
            runs = list(s.scalars(select(DigestRun)))
        audited = [e.target for e in st.audited("digest.post")]
        scans = list(st.rq.keys("rq:job:cron-digests-*"))
        enqueued = sum((tmp_path / f"cron-{n}.log").read_text().count("enqueued digests") for n in range(1, 5)
                       if (tmp_path / f"cron-{n}.log").exists())
    dups = sum(n - 1 for n in posted.values() if n > 1) + max(0, len(runs) - 2) + max(0, len(audited) - 2)
    lost = sum(1 for n in posted.values() if n == 0)
    chaos_report.add("cron: two processes, digest", runs=len(CHANNELS), applied=sum(n == 1 for n in posted.values()),
                     duplicates=dups, lost=lost)
    assert posted == {c: 1 for c in CHANNELS}
    assert sorted(str(r.channel_id) for r in runs) == sorted(CHANNELS) and all(r.done_at and r.message_ts for r in runs)
    assert sorted(str(t) for t in audited) == sorted(CHANNELS)
    assert len(scans) == 1 and enqueued == 1  # one process won the slot, the other saw it taken
