"""A person's active remediations: what App Home shows, and what a morning DM can list.

"Active": assigned to them in Jira, open, not a sub-task or epic, and either remedy keeps a
remediation record of it (a policy, a measurement) or work on it has started (a workflow phase
after the first). Per ticket: the phase, one key number, the next action and the risk flags, with
buttons for the next action and the everyday commands.

No Jamf call: the numbers are the stored snapshots, so Home opens fast. Jira is read once (one
search), the database a few times per ticket shown, and only the tickets of the page shown are
looked at closely. Long lists are paged and say so ("Showing 1–15 of 60"), never cut silently.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from remedy.commands import Help, parse_button
from remedy.db.models import ComplianceSnapshot, Remediation
from remedy.jira.jql import quote
from remedy.jira.models import Issue
from remedy.remediation import decisions, measure, store
from remedy.remediation.precheck import open_blockers
from remedy.remediation.store import RemediationView
from remedy.services import Services
from remedy.sessions.plan import Ticket, rollout_stage, steps
from remedy.slack import blocks, cards
from remedy.slack.blocks import Block
from remedy.slack.mrkdwn import escape
from remedy.workflow.priority_view import PRIORITY_FIELDS, rank_issues
from remedy.workflow.template import WorkflowTemplate

PAGE_SIZE = 15  # 3 blocks a ticket at most: a Home page stays far below Slack's 100 blocks
DM_PAGE_SIZE = 10  # a message holds 50 blocks
HOME_PAGE_ACTION = "remedy_home_page"
DUE_SOON_DAYS = 2
# Everyday commands offered beside the next action (only those this remedy can run already).
EVERYDAY = (("Compliance", "compliance"), ("Daily update", "daily update"), ("Open card", "work"))
_NOT_REMEDIATIONS = frozenset({"subtask", "sub-task", "epic"})


@dataclass(frozen=True)
class ActiveRemediation:
    key: str
    summary: str
    phase: str
    number: str  # "Pilot ring: 97.8% (44/45 Macs)", "85.2% compliant (758/890 Macs)" or "not measured yet"
    next_label: str | None
    next_command: str | None
    flags: tuple[str, ...]
    url: str | None = None


@dataclass(frozen=True)
class Page:
    items: list[ActiveRemediation]
    total: int
    number: int  # 1-based
    size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def first(self) -> int:
        return (self.number - 1) * self.size + 1 if self.items else 0

    @property
    def last(self) -> int:
        return self.first + len(self.items) - 1 if self.items else 0


def find_active(services: Services, account_id: str) -> list[Issue]:
    """The account's active remediations, highest priority first (priority.yml, as `priorities`)."""
    found = [i for i in services.jira.search(f"assignee = {quote(account_id)}", fields=PRIORITY_FIELDS)
             if not i.is_done and i.issue_type.casefold() not in _NOT_REMEDIATIONS]
    recorded = _recorded(services, [i.key for i in found])
    active = [i for i in found if i.key in recorded or _started(services.workflow_for(i), i)]
    by_key = {i.key: i for i in active}
    return [by_key[r.facts.key] for r in rank_issues(services, active)]


def _started(workflow: WorkflowTemplate, issue: Issue) -> bool:
    """In a phase of its own template after the first."""
    phase = workflow.phase_for_status(issue.status)
    return phase is not None and phase.name != workflow.phases[0].name


def _recorded(services: Services, keys: Sequence[str]) -> set[str]:
    if not keys:
        return set()
    with services.db.session() as s:
        return set(s.scalars(select(Remediation.ticket_key).where(Remediation.ticket_key.in_(keys))))


def active_remediations(services: Services, account_id: str, page: int = 1, size: int = PAGE_SIZE) -> Page:
    """One page of the account's active remediations; a page past the end shows the last one."""
    issues = find_active(services, account_id)
    pages = max(1, -(-len(issues) // size))
    number = min(max(page, 1), pages)
    today = services.clock().date()
    shown = issues[(number - 1) * size: number * size]
    return Page([describe(services, issue, today) for issue in shown], len(issues), number, size)


def describe(services: Services, issue: Issue, today: date) -> ActiveRemediation:
    """Phase, key number, next action and risk flags of one ticket, from remedy's records only."""
    known = store.load(services.db, issue.key)
    waiting = bool(decisions.pending_for(services.db, issue.key))
    workflow = services.workflow_for(issue)  # its own phases and, before a ring plan is recorded, target
    phase = workflow.phase_for_status(issue.status)
    nexts = steps(Ticket(issue.key, issue.summary, phase, rollout_stage(known, waiting)))
    fleet = measure.latest_for(services.db, issue, known)
    number, failures = _number(services, known, fleet)
    target = known.rings[-1].threshold if known and known.rings else workflow.rings[-1].threshold
    percent = 100.0 * fleet.compliant / fleet.total if fleet and fleet.total else None
    flags = [*_due_flags(issue.due_date, today, percent, target)]
    blockers = open_blockers(issue)
    if blockers:
        flags.append("⛔ blocked by " + ", ".join(escape(b) for b in blockers[:5]))
    if waiting:
        flags.append("🗳 go/no-go card waiting for a lead")
    if failures:
        flags.append(f"❗ {failures} install failure{'s' if failures != 1 else ''} at the last measurement")
    return ActiveRemediation(issue.key, issue.summary, phase.name if phase else issue.status, number,
                             nexts[0][0] if nexts else None, nexts[0][1] if nexts else None, tuple(flags),
                             cards.browse_url(services.settings.JIRA_URL, issue.key))


def _number(services: Services, known: RemediationView | None,
            fleet: measure.Previous | None) -> tuple[str, int]:
    """The active ring's rate when it was measured, else the fleet's compliance; and the failures in
    the started rings at the last measurement."""
    rings = _last_rings(services, known) if known else {}
    failures = sum(failures for _, _, failures in rings.values())
    active = known.active if known else None
    if active is not None and rings.get(active.name, (0, 0, 0))[1]:
        compliant, total, _ = rings[active.name]
        return f"{escape(active.label)} ring: {100.0 * compliant / total:.1f}% ({compliant}/{total} Macs)", failures
    if fleet is not None and fleet.total:
        percent = 100.0 * fleet.compliant / fleet.total
        return f"{percent:.1f}% compliant ({fleet.compliant}/{fleet.total} Macs)", failures
    return "not measured yet", failures


def _last_rings(services: Services, known: RemediationView) -> dict[str, tuple[int, int, int]]:
    """Per ring (compliant, with the app, failures) of the newest measurement: `compliance` stores
    one row per started ring, all with the same time."""
    query = (select(ComplianceSnapshot).where(ComplianceSnapshot.ticket_key == known.facts.key,
                                              ComplianceSnapshot.target_version == known.facts.target_version,
                                              ComplianceSnapshot.ring.is_not(None))
             .order_by(ComplianceSnapshot.id.desc()).limit(max(len(known.rings), 1)))
    with services.db.session() as s:
        rows = list(s.scalars(query))
        newest = rows[0].taken_at if rows else None
        return {str(r.ring): (r.compliant, r.total, r.failures or 0) for r in reversed(rows)
                if r.taken_at == newest}


def _due_flags(due: date | None, today: date, percent: float | None, target: float) -> list[str]:
    if due is None:
        return []
    days = (due - today).days
    if days < 0:
        return [f"⏰ overdue by {-days} day{'s' if days != -1 else ''}"]
    if days > DUE_SOON_DAYS or (percent is not None and percent >= target):
        return []
    when = "today" if days == 0 else f"in {days} day{'s' if days != 1 else ''}"
    at = f"at {percent:.1f}%" if percent is not None else "compliance not measured"
    return [f"⏰ due {when}, {at} (target {target:g}%)"]


# -- Block Kit -----------------------------------------------------------------------------------


def active_remediations_blocks(page: Page, *, pager: bool = True) -> list[Block]:
    """The page as blocks: a count line, per ticket a section, its flags and its buttons, and
    Previous/Next page buttons (``pager``; without them, as in a DM, the line says where the rest is)."""
    if page.total == 0:
        return [blocks.section("🩺 No active remediations assigned to you in Jira.")]
    noun = "remediation" if page.total == 1 else "remediations"
    out = [blocks.section(f"🩺 *You have {page.total} active {noun}*, highest priority first")]
    if page.pages > 1:
        rest = "" if pager else " · the rest are in my App Home"
        out.append(blocks.context(f"Showing {page.first}–{page.last} of {page.total}{rest}"))
    for item in page.items:
        out.extend(_item_blocks(item))
    if pager and page.pages > 1:
        out.append(_pager(page))
    return out


def _item_blocks(item: ActiveRemediation) -> list[Block]:
    key = f"<{item.url}|{item.key}>" if item.url else item.key
    nxt = f" · next: `{escape(item.next_command)}`" if item.next_command else ""
    out = [blocks.section(f"*{key}* {escape(item.summary)}\n*{escape(item.phase)}* · {item.number}{nxt}")]
    if item.flags:
        out.append(blocks.context(" · ".join(item.flags)))
    buttons = _buttons(item)
    if buttons:
        out.append(blocks.actions(buttons))
    return out


def _buttons(item: ActiveRemediation) -> list[Block]:
    wanted = [(item.next_label, item.next_command)] if item.next_label and item.next_command else []
    wanted += [pair for pair in EVERYDAY if pair[1] != item.next_command]
    out: list[Block] = []
    for i, (label, command) in enumerate(wanted):
        if _runnable(command, item.key):
            out.append(blocks.command_button(label, command, item.key, style="primary" if i == 0 else None))
    return out


def _runnable(command: str, key: str) -> bool:
    """A button only for what this remedy can run (a command still to come would answer 🚧)."""
    parsed = parse_button(command, key)
    return not isinstance(parsed, Help) and parsed.job() is not None


def _pager(page: Page) -> Block:
    elements = []
    if page.number > 1:
        elements.append(_page_button("Previous page", page.number - 1, "prev"))
    if page.number < page.pages:
        elements.append(_page_button("Next page", page.number + 1, "next", style="primary"))
    return blocks.actions(elements)


def _page_button(label: str, number: int, which: str, style: str | None = None) -> Block:
    btn: Block = {"type": "button", "text": {"type": "plain_text", "text": label},
                  "action_id": f"{HOME_PAGE_ACTION}:{which}", "value": json.dumps({"page": number})}
    if style:
        btn["style"] = style
    return btn


def page_from_value(value: str) -> int:
    """The page a pager button asks for (1 for anything malformed: the first page is never wrong)."""
    try:
        data = json.loads(value)
        number = int(data["page"]) if isinstance(data, dict) else 1
    except (ValueError, KeyError, TypeError):
        return 1
    return max(1, number)
