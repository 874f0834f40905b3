"""Scheduled digests (`digest here HH:MM <tz> [weekdays|daily]`, `digest off`, `digest show`) and the
opt-in morning DM (`morning on [HH:MM]`, `morning off`, `morning`).

cron runs :func:`run_due` every few minutes; it enqueues a job for each channel whose digest (and each
user whose morning DM) is due on its own local date. That job claims the run of (channel, local date)
before posting anything, so two cron processes, an overlapping scan or a retried job post it once; a
claim whose job died is taken over after a lease and completed (the poster's idempotency keys find
what was already posted). A run Slack refuses for good (the bot was removed from the channel) ends
for that day and is audited, instead of being tried every five minutes.

The digest states each ticket's daily-update facts (workers.updates, same code as `daily update`) and
threads each ticket's update under the digest message. It comments on no Jira ticket: a digest runs
in every channel that asked for one, so a Jira comment per digest would post the same update several
times a day; `daily update(s)` is the command that writes to Jira, once, when a person asks.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackApiError

from remedy.commands import CATALOG, PersonRef
from remedy.db.models_digest import DigestRun, MorningRun
from remedy.digest import build, store
from remedy.digest.inventory import SharedInventory
from remedy.digest.schedule import Due, Plan, due, next_run, when
from remedy.digest.store import RunTable
from remedy.errors import UserError
from remedy.jira.models import Issue
from remedy.queue import Origin
from remedy.remediation.store import RemediationView
from remedy.services import Services
from remedy.slack import blocks, digest_view
from remedy.slack.home_view import DM_PAGE_SIZE, active_remediations, active_remediations_blocks
from remedy.slack.mrkdwn import escape
from remedy.team.resolve import resolve_jira_user
from remedy.updates.history import StoredUpdate
from remedy.updates.history import active_remediations as active_keys
from workers.context import PERMANENT, JobContext, audit, job_context, require_role
from workers.jira_actions import slack_email
from workers.updates import decide_facts

log = logging.getLogger("remedy.jobs")
MORNING_DEFAULT = "08:30"


def _zone(tz: str) -> str:
    try:
        ZoneInfo(tz)
    except Exception:  # unknown key, bad shape, tzdata missing: all mean "not a zone I can use"
        raise UserError(f"I don't know the timezone `{escape(tz)}`; use an IANA name such as "
                        "`Europe/Berlin`.") from None
    return tz


def _clock(time: str) -> str:
    hour, _, minute = time.partition(":")
    if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60 and len(minute) == 2):
        raise UserError(f"`{escape(time)}` is not a time of day; use `HH:MM` (24h), e.g. `09:00`.")
    return f"{int(hour):02d}:{minute}"


def _said(plan: Plan) -> str:
    return f"{plan.local_time} {plan.timezone} {plan.days}"


# -- the commands ---------------------------------------------------------------------------------------
def digest_here(origin: dict[str, Any], time: str, tz: str, days: str = "weekdays", **_: Any) -> None:
    with job_context(origin) as ctx:
        require_role(ctx, CATALOG["digest here"].role, "Scheduling the digest", ctx.channel)
        svc, now = ctx.services, ctx.services.clock()
        plan = Plan(_clock(time), _zone(tz), days != "daily")
        nxt = when(plan, next_run(plan, now))
        # Said in the channel first: it tells the channel, and proves the bot may post there (not_in_channel
        # is answered before anything is stored).
        line = f"📰 <@{ctx.user}> scheduled the daily digest here: {_said(plan)}. Next digest: {nxt}."
        svc.poster.post_once(ctx.channel, line, [blocks.section(line)], ctx.key("digest:here"))
        before = store.set_schedule(svc.db, ctx.channel, plan, ctx.user, now)
        replaced = before is not None and (before.plan.local_time, before.plan.timezone,
                                           before.plan.weekdays_only) != (plan.local_time, plan.timezone,
                                                                          plan.weekdays_only)
        audit(ctx, "digest.schedule", ctx.channel, time=plan.local_time, timezone=plan.timezone,
              weekdays_only=plan.weekdays_only, replaced=_said(before.plan) if before and replaced else None)
        was = f" (it was {_said(before.plan)})" if before is not None and replaced else ""
        ctx.done(f"Digest scheduled here at {_said(plan)}{was}. Next digest: {nxt}.")


def digest_off(origin: dict[str, Any], **_: Any) -> None:
    with job_context(origin) as ctx:
        require_role(ctx, CATALOG["digest off"].role, "Turning the digest off", ctx.channel)
        svc = ctx.services
        current = store.get_schedule(svc.db, ctx.channel)
        if current is None:
            ctx.done("There is no digest scheduled in this channel, so there is nothing to turn off. "
                     "`digest here 09:00 Europe/Berlin` sets one.")
            return
        line = f"📰 <@{ctx.user}> turned the daily digest off here (it was {_said(current.plan)})."
        svc.poster.post_once(ctx.channel, line, [blocks.section(line)], ctx.key("digest:off"))
        store.remove_schedule(svc.db, ctx.channel)
        audit(ctx, "digest.off", ctx.channel, was=_said(current.plan))
        ctx.done(f"Digest turned off here (it was {_said(current.plan)}).")


def digest_show(origin: dict[str, Any], **_: Any) -> None:
    with job_context(origin) as ctx:
        svc = ctx.services
        current = store.get_schedule(svc.db, ctx.channel)
        if current is None:
            ctx.done("No digest is scheduled in this channel. `digest here 09:00 Europe/Berlin [weekdays|daily]` "
                     "sets one.")
            return
        plan = current.plan
        text = (f"📰 The digest here: {_said(plan)}, set by <@{current.set_by}>. "
                f"Next digest: {when(plan, next_run(plan, svc.clock()))}.")
        last = store.last_run(svc.db, ctx.channel)
        if last is not None:
            text += f" Last posted: {when(plan, last.scheduled_for)}{' (late)' if last.late else ''}."
        ctx.done(text)


def morning(origin: dict[str, Any], action: str = "show", time: str | None = None, **_: Any) -> None:
    with job_context(origin) as ctx:
        svc, now = ctx.services, ctx.services.clock()
        current = store.get_morning(svc.db, ctx.user)
        if action == "off":
            if store.remove_morning(svc.db, ctx.user) is None and current is None:
                ctx.done("Your morning DM is not on, so there is nothing to turn off.")
                return
            audit(ctx, "morning.off", ctx.user)
            ctx.done("Morning DM turned off. `morning on` brings it back.")
            return
        if action == "show":
            if current is None:
                ctx.done(f"Your morning DM is off. `morning on {MORNING_DEFAULT}` sends you your active "
                         "remediations on weekdays at that time, in your Slack timezone.")
                return
            ctx.done(f"☀️ Your morning DM: {_said(current)}. Next: {when(current, next_run(current, now))}.")
            return
        zone, note = _slack_tz(ctx)
        plan = Plan(_clock(time or (current.local_time if current else MORNING_DEFAULT)), zone, True)
        store.set_morning(svc.db, ctx.user, plan.local_time, plan.timezone, now)
        audit(ctx, "morning.on", ctx.user, time=plan.local_time, timezone=plan.timezone)
        ctx.done(f"☀️ I'll DM you your active remediations {plan.days} at {plan.local_time} {plan.timezone} "
                 f"({note}). First one: {when(plan, next_run(plan, now))}.")


def _slack_tz(ctx: JobContext) -> tuple[str, str]:
    """The user's timezone as their Slack profile has it (users.info ``tz``), and where it came from."""
    try:
        user: dict[str, Any] = ctx.services.slack.users_info(user=ctx.user).get("user") or {}
    except SlackApiError as exc:
        if exc.response.get("error") in ("user_not_found", "user_not_visible"):
            raise UserError("Slack doesn't know you as a user I can DM, so I can't send a morning DM.") from exc
        raise  # Slack trouble: the job is retried
    tz = str(user.get("tz") or "")
    try:
        ZoneInfo(tz)
    except Exception:  # no zone in the profile (or one this system lacks): UTC, and say so
        return "UTC", "your Slack profile has no timezone I know, so UTC; set yours in Slack and run this again"
    return tz, "your Slack timezone"


# -- cron: what is due -------------------------------------------------------------------------------------
def run_due(origin: dict[str, Any], slot: str = "", late: bool = False, **_: Any) -> int:
    """Enqueue each digest and morning DM whose local time has come today and that is not done yet."""
    with job_context(origin) as ctx:
        svc, now = ctx.services, ctx.services.clock()
        stamp = int(datetime.fromisoformat(slot).timestamp()) if slot else int(now.timestamp()) // 60 * 60
        queued = 0
        for schedule in store.schedules(svc.db):
            queued += _enqueue(ctx, DigestRun, schedule.channel_id, schedule.plan, now, stamp)
        for user, plan in store.mornings(svc.db):
            queued += _enqueue(ctx, MorningRun, user, plan, now, stamp)
        return queued
    return 0


def _enqueue(ctx: JobContext, table: RunTable, target: str, plan: Plan, now: datetime, stamp: int) -> int:
    found = due(plan, now)
    if found is None:
        return 0
    run = store.find_run(ctx.services.db, table, target, found.local_date)
    if run is not None and run.done:
        return 0
    digest = table is DigestRun
    kind, func = ("digest", "post_digest") if digest else ("morning", "send_morning")
    args = {"target": target, "local_date": found.local_date.isoformat(),
            "scheduled_for": found.scheduled_for.isoformat(), "late": found.late}
    # One job per scan slot: a rerun of this scan adds nothing; the next scan adds one that finds the
    # claim live (and leaves) or dead (and takes it over).
    job_id = f"{kind}-{target}-{found.local_date:%Y%m%d}-{stamp}"
    who = Origin(user_id="cron" if digest else target, channel_id=target if digest else None, source="cron",
                 text=f"{kind} {target}")
    ctx.services.queue.enqueue(f"workers.digest.{func}", args, who, description=f"{kind} for {target}",
                               job_id=job_id, unique=True)
    return 1


def _claimed(ctx: JobContext, table: RunTable, target: str, local_date: str, scheduled_for: str,
             late: bool) -> store.Run | None:
    planned = Due(date.fromisoformat(local_date), datetime.fromisoformat(scheduled_for), bool(late))
    return store.claim(ctx.services.db, table, target, planned, ctx.job_id, ctx.services.clock())


def _refused(ctx: JobContext, table: RunTable, run: store.Run, kind: str, exc: Exception) -> None:
    store.finished(ctx.services.db, table, run, ctx.services.clock())
    audit(ctx, f"{kind}.refused", run.target, once_key=f"{kind}-{run.target}-{run.local_date}:refused",
          local_date=run.local_date.isoformat(), error=str(exc)[:300])


# -- the digest ----------------------------------------------------------------------------------------------
def post_digest(origin: dict[str, Any], target: str, local_date: str, scheduled_for: str, late: bool = False,
                **_: Any) -> None:
    with job_context(origin) as ctx:
        schedule = store.get_schedule(ctx.services.db, target)
        if schedule is None:
            return  # turned off since cron found it due
        run = _claimed(ctx, DigestRun, target, local_date, scheduled_for, late)
        if run is None:
            return  # done, or another job holds a live claim
        try:
            _publish(ctx, schedule.plan, run)
        except PERMANENT as exc:
            _refused(ctx, DigestRun, run, "digest", exc)
            raise


def _publish(ctx: JobContext, plan: Plan, run: store.Run) -> None:
    run_key = f"digest-{run.target}-{run.local_date:%Y%m%d}"  # every retry and take-over shares these keys

    def decide(svc: Services, issue: Issue, known: RemediationView | None,
               previous: StoredUpdate | None) -> dict[str, Any]:
        return decide_facts(JobContext(svc, ctx.origin, run_key), issue, known, previous, True)

    with build.word_pool() as words:
        _post(ctx, plan, run, run_key, decide, words)


def _post(ctx: JobContext, plan: Plan, run: store.Run, run_key: str, decide: build.Decide,
          words: ThreadPoolExecutor) -> None:
    svc, channel = ctx.services, run.target
    shared = build.with_jamf(svc, SharedInventory(svc.jamf).as_client())
    tickets = build.gather(shared, active_keys(svc.db), run_key, decide, PERMANENT, words)
    items = [build.item(svc, t) for t in tickets]
    title = _title(plan, run)
    subtitle = f"{len(items)} active remediation{'s' if len(items) != 1 else ''} · {_said(plan)}"
    blks = digest_view.digest_blocks(title, subtitle, items)
    text = digest_view.fallback_text(title, items)

    def message() -> str:
        ts = run.message_ts or svc.poster.post_once(channel, text, blks, f"{run_key}:message").ts
        store.posted(svc.db, DigestRun, run, ts)
        return ts

    ts = message()
    build.post_replies(svc, channel, ts, tickets, run_key, words)
    store.finished(svc.db, DigestRun, run, svc.clock())
    audit(ctx, "digest.post", channel, once_key=f"{run_key}:audit", local_date=run.local_date.isoformat(),
          late=run.late, tickets=len(items), message_ts=ts)


def _title(plan: Plan, run: store.Run) -> str:
    day = run.local_date
    title = f"📰 Daily digest · {day:%a} {day.day} {day:%b}"
    return title + (f" (late: scheduled {plan.local_time})" if run.late else "")


# -- the morning DM ------------------------------------------------------------------------------------------
def send_morning(origin: dict[str, Any], target: str, local_date: str, scheduled_for: str, late: bool = False,
                 **_: Any) -> None:
    with job_context(origin) as ctx:
        if store.get_morning(ctx.services.db, target) is None:
            return  # turned off since cron found it due
        run = _claimed(ctx, MorningRun, target, local_date, scheduled_for, late)
        if run is None:
            return
        try:
            _greet(ctx, run)
        except PERMANENT as exc:
            _refused(ctx, MorningRun, run, "morning", exc)
            raise


def _greet(ctx: JobContext, run: store.Run) -> None:
    svc, user = ctx.services, run.target
    me = PersonRef(raw=f"<@{user}>", kind="mention", slack_id=user)
    who = resolve_jira_user(me, svc.team, svc.jira, slack_email(ctx))
    page = active_remediations(svc, who.account_id, 1, DM_PAGE_SIZE)
    person = svc.team.by_slack_id(user)
    hello = f"☀️ Good morning{', ' + escape(person.name.split()[0]) if person else ''}!"
    noun = "remediation" if page.total == 1 else "remediations"
    text = f"Good morning! You have {page.total} active {noun}"
    blks = [blocks.section(hello), *active_remediations_blocks(page, pager=False)]
    posted = svc.poster.dm(user, text, blks, f"morning-{user}-{run.local_date:%Y%m%d}:dm")
    store.posted(svc.db, MorningRun, run, posted.ts)
    store.finished(svc.db, MorningRun, run, svc.clock())
    audit(ctx, "morning.dm", user, once_key=f"morning-{user}-{run.local_date:%Y%m%d}:audit",
          local_date=run.local_date.isoformat(), late=run.late, remediations=page.total)
