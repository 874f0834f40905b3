"""The one table of `/remedy` commands: names, usage, help text, role needed, ack text.

Everything user-facing about a command (help, usage in error messages, the role check, the ⏳ line)
is read from here, so adding a command means one row here plus its typed class and parser.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from types import MappingProxyType
from typing import Literal

KeyRule = Literal["none", "optional", "required"]

AREAS: tuple[str, ...] = ("Ticket", "Memory", "Team", "Bulk", "Insight", "Session", "Jamf", "Updates", "Ops")

# Command name → dotted job path. A command that parses but is missing here is "not available yet";
# later issues add rows as their jobs land.
AVAILABLE_JOBS: dict[str, str] = {
    "work": "workers.tickets.work",
    "my focus": "workers.tickets.my_focus",
    "jobs": "workers.ops.list_jobs",
    "doctor": "workers.ops.doctor",
    "retry": "workers.ops.retry",
    "comment": "workers.comments.comment",
    "draft comment": "workers.comments.draft",
    "post comment": "workers.comments.post_draft",
    "discard draft": "workers.comments.discard_draft",
    "edit draft": "workers.comments.edit_draft",
    "move": "workers.jira_actions.move",
    "assign": "workers.jira_actions.assign",
    "priority": "workers.jira_actions.set_priority",
    "add blocker": "workers.jira_actions.add_blocker",
    "watch": "workers.jira_actions.watch",
    "escalate": "workers.team_actions.escalate",
    "delegate": "workers.team_actions.delegate",
    "blocked": "workers.memory_jobs.blocked",
    "resume": "workers.memory_jobs.resume",
    "progress": "workers.memory_jobs.progress",
    "priorities": "workers.priorities.priorities",
    "compliance": "workers.jamf_actions.compliance",
    "create jamf policy": "workers.rollout.create_policy",
    "deploy pilot": "workers.rollout.deploy_pilot",
    "validate package": "workers.packages.validate_package",
    "rollout next": "workers.decisions.rollout_next",
    "validate rollback": "workers.rollback.validate_rollback",
    "rollback status": "workers.rollback.rollback_status",
    "exceptions": "workers.jamf_actions.exceptions",
    "compliance gaps": "workers.gaps.compliance_gaps",
    "risks": "workers.insights.risks",
    "team impact": "workers.insights.team_impact",
    "audit report": "workers.reports.audit_report",
    "evidence": "workers.evidence.evidence",
    "analyze": "workers.analysis.analyze",
    "start session": "workers.sessions.start_session",
    "status": "workers.sessions.status",
    "next": "workers.sessions.next_action",
    "complete session": "workers.sessions.complete_session",
    "schedule discussion": "workers.schedule.schedule_discussion",
    "sync": "workers.sync.sync",
    "daily update": "workers.updates.daily_update",
    "daily updates": "workers.updates.daily_updates",
    "audit trail": "workers.audit_trail.audit_trail",
    "exec summary": "workers.exec_summary.exec_summary",
    "focus epic": "workers.bulk.focus_epic",
    "batch comment": "workers.bulk.batch_comment",
    "close all resolved": "workers.bulk.close_all_resolved",
    "compliance report": "workers.bulk.compliance_report",
    "digest here": "workers.digest.digest_here",
    "digest off": "workers.digest.digest_off",
    "digest show": "workers.digest.digest_show",
    "morning": "workers.digest.morning",
}


class Role(IntEnum):
    """Ordered so that `user_role >= command.needs()` is the whole authorization check."""

    VIEWER = 0
    ENGINEER = 1
    LEAD = 2
    ADMIN = 3

    @property
    def with_article(self) -> str:
        """"a viewer", "an engineer", "a lead", "an admin" — for refusals that name the user's role."""
        word = self.name.lower()
        return f"{'an' if word[0] in 'aeiou' else 'a'} *{word}*"

    @classmethod
    def from_name(cls, name: str) -> Role:
        """`Role.from_name("lead")` → `Role.LEAD`; raises ValueError for an unknown name."""
        try:
            return cls[name.strip().upper()]
        except KeyError:
            known = [role.name.lower() for role in cls]
            raise ValueError(f"unknown role {name!r}; expected one of {known}") from None


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """One row of the table.

    `doing` is the ⏳ ack line for commands without extra fields; `{key}` is the ticket key.
    `key` says whether the command takes a ticket key and whether the focus ticket may stand in.
    """

    name: str
    area: str
    usage: str
    summary: str
    examples: tuple[str, ...]
    role: Role
    key: KeyRule = "none"
    doing: str = ""
    aliases: tuple[str, ...] = ()
    details: str = ""

    @property
    def phrases(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    @property
    def keyed_example(self) -> str:
        """An example that names a ticket, for "which ticket?" answers."""
        for example in self.examples:
            if "CPE-" in example:
                return example
        return f"{self.name} CPE-3222"


V, E, L = Role.VIEWER, Role.ENGINEER, Role.LEAD

_PHASES = "To Do, Investigation, Plan, Build & Test, Pilot, Rollout, Verify, Done"
_SCOPE = (
    "Scope: nothing (your focus epic, else your active tickets), `epic [KEY]`, `KEY KEY …` "
    'or `jql "…"` (passed to Jira as is).'
)

_ROWS: tuple[CommandSpec, ...] = (
    # Ticket
    CommandSpec("work", "Ticket", "work KEY", "Open a ticket and make it your focus",
                ("work CPE-3222",), V, "required", "Opening {key}"),
    CommandSpec("analyze", "Ticket", "analyze [KEY]", "AI analysis: risks, plan, next steps",
                ("analyze", "analyze CPE-3222"), V, "optional", "Analyzing {key}", ("analyse",)),
    CommandSpec("draft comment", "Ticket", "draft comment [KEY] [about <topic…>]",
                "Draft a status comment for you to review",
                ("draft comment", "draft comment CPE-3222", "draft comment about the pilot results"), V,
                "optional", "Drafting a comment for {key}",
                details="`about …` tells the draft what to cover; without it, the draft sums up the ticket."),
    CommandSpec("post comment", "Ticket", "post comment [KEY]", "Post your latest draft comment to Jira",
                ("post comment", "post comment CPE-3222"), E, "optional",
                "Posting the draft comment to {key}"),
    CommandSpec("edit draft", "Ticket", 'edit draft [KEY] "text"', "Replace the text of your latest draft comment",
                ('edit draft "Pilot is healthy, rollout starts Monday"',
                 'edit draft CPE-3222 "Vendor confirmed the fix"'), E, "optional"),
    CommandSpec("discard draft", "Ticket", "discard draft [KEY]", "Throw away your draft comment",
                ("discard draft", "discard draft CPE-3222"), E, "optional",
                "Discarding your draft comment on {key}"),
    CommandSpec("comment", "Ticket", 'comment [KEY] "text"', "Post your own comment to Jira",
                ('comment "Pilot group looks healthy"', 'comment CPE-3222 "Vendor confirmed the fix"'),
                E, "optional"),
    CommandSpec("move", "Ticket", "move [KEY] to <phase>", "Move the ticket to another remediation phase",
                ("move to investigation", "move CPE-3222 to Pilot"), E, "optional",
                details=f"Phases: {_PHASES}."),
    CommandSpec("assign", "Ticket", "assign [KEY] to <person>", "Assign the ticket to a teammate",
                ("assign to john", "assign CPE-3222 to john.smith"), E, "optional",
                details="A person is a mention, @handle, handle, email or a quoted full name."),
    CommandSpec("priority", "Ticket",
                "priority [KEY] <P1..P4 | highest | high | medium | low | lowest> [for N days | until DATE] "
                "because <reason>",
                "Override the computed priority, with a reason (audited)",
                ("priority P1 because CVE 8.8", "priority CPE-3222 P2 because the vendor fix slipped",
                 "priority CPE-3222 high because exploited",
                 "priority CPE-3222 P1 for 3 days because exploited in the wild"),
                E, "optional",
                details="The reason is required: the queue and the analysis card show it beside the priority. "
                "P1..P4 become Jira priorities as the workflow maps them (by default Highest, High, "
                "Medium, Low); Jira's own names work as they are. The override wins over the computed "
                "priority until you set another, or until it expires: `for 3 days`, `for 2 weeks`, "
                "`until 2026-12-01` (the end of that day, UTC)."),
    CommandSpec("add blocker", "Ticket", "add blocker [KEY] BLOCKER", "Record that ticket BLOCKER blocks KEY",
                ("add blocker CPE-3222 CPE-3301", "add blocker CPE-3301", "block CPE-3222 by CPE-3301"), E,
                "optional", aliases=("block",),
                details="`add blocker CPE-3301 to CPE-3222` and `block CPE-3222 by CPE-3301` work too; "
                "`block by CPE-3301` uses your focus ticket."),
    CommandSpec("watch", "Ticket", "watch [KEY] [people…]", "Watch the ticket in Jira, or add people as watchers",
                ("watch", "watch CPE-3222", "watch CPE-3222 sarah john.doe"), E, "optional", "Watching {key}",
                aliases=("add watchers",)),
    # Memory
    CommandSpec("resume", "Memory", "resume", "Pick up where you left off", ("resume",), V,
                doing="Resuming where you left off"),
    CommandSpec("progress", "Memory", "progress [today|week]", "What you got done",
                ("progress", "progress week"), V),
    CommandSpec("blocked", "Memory", "blocked", "Your tickets that are waiting on something", ("blocked",), V,
                doing="Looking for blocked tickets"),
    CommandSpec("my focus", "Memory", "my focus", "Show your focus ticket", ("my focus",), V,
                doing="Looking up your focus ticket", aliases=("focus",)),
    CommandSpec("priorities", "Memory", "priorities", "Your open tickets in priority order, and why",
                ("priorities", "my queue"), V, doing="Ranking your open tickets",
                aliases=("my queue", "my priorities"),
                details="Scored by the rules in priority.yml (CVSS, SLA due date, Macs still behind, blockers, "
                "phase, age, Jira priority); an override set with `priority KEY P1 because …` wins and is "
                "marked. Exposure comes from the last `compliance KEY`."),
    # Team
    CommandSpec("escalate", "Team", "escalate [KEY] [[to] <person>] [because <reason>]",
                "Escalate to a person: notifies them and updates the ticket",
                ("escalate CPE-3222 sarah", "escalate to sarah", "escalate CPE-3222 to sarah pilot failing",
                 "escalate CPE-3222 because vendor silent for 3 days"),
                E, "optional",
                details="Without a person, team.yml's escalation rules pick one (by default your manager)."),
    CommandSpec("delegate", "Team", "delegate [KEY] to <person|group>",
                "Hand the ticket to a person or group and add them as watchers",
                ("delegate to dev-team", "delegate CPE-3222 to john"), E, "optional"),
    CommandSpec("schedule discussion", "Team", "schedule discussion [KEY] <when> with <people…>",
                "Set up a meeting about the ticket",
                ("schedule discussion tomorrow 15:00 with sarah john",
                 "schedule discussion CPE-3222 mon 10:00 with sarah"), E, "optional",
                aliases=("schedule", "schedule meeting"),
                details="When: `today 9:30`, `tomorrow 15:00`, `mon 10:00`, `2026-12-01 14:00`, `3pm`."),
    CommandSpec("sync", "Team", "sync [KEY] [#channel]", "Post a ticket's status to a team channel",
                ("sync", "sync CPE-3222", "sync CPE-3222 #mac-remediation"), E, "optional",
                details="Without a channel, your team's channel is used; the post is threaded under the "
                "ticket's home message there."),
    # Bulk
    CommandSpec("focus epic", "Bulk", "focus epic KEY", "Work on all stories of an epic",
                ("focus epic CPE-123",), E, "required", "Focusing on epic {key}", ("focus on epic",)),
    CommandSpec("batch comment", "Bulk", 'batch comment "text" [on epic | on KEY KEY… | on jql "…"]',
                "Post the same comment on many tickets",
                ('batch comment "Weekly security update"',
                 'batch comment "Pilot starts Monday" on CPE-3222 CPE-3301'), E, details=_SCOPE),
    CommandSpec("close all resolved", "Bulk", "close all resolved [scope]",
                "Close tickets whose work is done",
                ("close all resolved", "close all resolved in epic CPE-123"), E,
                aliases=("close resolved",), details=_SCOPE),
    CommandSpec("compliance report", "Bulk", "compliance report [scope]", "Compliance metrics across tickets",
                ("compliance report", "compliance report on CPE-3222 CPE-3301"), V, details=_SCOPE),
    # Insight
    CommandSpec("risks", "Insight", "risks", "SLA breaches, blockers and overdue dependencies", ("risks",), V,
                doing="Checking for risks"),
    CommandSpec("team impact", "Insight", "team impact", "Tickets that affect other people or teams",
                ("team impact",), V, doing="Checking team impact"),
    CommandSpec("compliance gaps", "Insight", "compliance gaps",
                "Remediations behind their compliance target",
                ("compliance gaps",), V, doing="Looking for compliance gaps"),
    CommandSpec("exec summary", "Insight", "exec summary [scope] [week|month|quarter]",
                "One page for leadership: phases, fleet coverage, SLA, risks, decisions",
                ("exec summary", "exec summary month", "exec summary epic CPE-123 quarter"), V,
                doing="Building the executive summary", aliases=("executive summary",),
                details="Scope: nothing (every remediation), `epic KEY`, `KEY KEY …` or `jql \"…\"`. Posted in "
                "the channel with a markdown document and a coverage chart in its thread; the same numbers as "
                "`compliance` and `risks`. Set REMEDY_LEADERSHIP_CHANNEL for a weekly post (Mondays)."),
    CommandSpec("audit trail", "Insight", "audit trail [KEY|all] [since <when>]",
                "Who did what and when (hash-chained)",
                ("audit trail", "audit trail CPE-3222 since 2026-11-01", "audit trail all since mon"), V,
                "optional"),
    # Session
    CommandSpec("start session", "Session", "start session <duration>", "Plan a focused work session",
                ("start session 2h", "start session 1h30m"), E, details="Duration: `2h`, `90m`, `1h30m`."),
    CommandSpec("status", "Session", "status", "Progress of your work session", ("status",), V,
                doing="Checking your session", aliases=("session status",)),
    CommandSpec("next", "Session", "next", "Suggest the next best action", ("next",), V,
                doing="Picking your next action"),
    CommandSpec("complete session", "Session", "complete session",
                "End the session and draft stakeholder updates",
                ("complete session",), E, doing="Wrapping up your session",
                aliases=("end session", "stop session", "finish session")),
    # Jamf
    CommandSpec("create jamf policy", "Jamf", "create jamf policy [KEY]",
                "Generate the Jamf policy from the ticket",
                ("create jamf policy CPE-3222",), E, "optional", "Creating the Jamf policy for {key}",
                ("create policy",)),
    CommandSpec("deploy pilot", "Jamf", "deploy pilot [KEY]", "Deploy to the pilot ring",
                ("deploy pilot CPE-3222", "deploy pilot CPE-3222 override because vendor build, signer checked"),
                E, "optional", "Deploying {key} to the pilot ring", ("deploy to pilot",),
                details="Leaving Build & Test needs a passing `validate package` of the package on the ticket's "
                "Jamf policy. A lead can deploy anyway with `override because <reason>` (audited)."),
    CommandSpec("rollout next", "Jamf", "rollout next [KEY]",
                "Propose the next ring (lead approves go/no-go)",
                ("rollout next CPE-3222",), E, "optional", "Preparing the next ring for {key}",
                ("roll out next",)),
    CommandSpec("compliance", "Jamf", "compliance [KEY]", "Device compliance for the ticket's app",
                ("compliance CPE-3222", "check compliance CPE-3222"), V, "optional",
                "Checking compliance for {key}", ("check compliance",)),
    CommandSpec("exceptions", "Jamf", "exceptions [KEY]", "Devices that need a manual fix",
                ("exceptions CPE-3222",), V, "optional", "Listing exceptions for {key}"),
    CommandSpec("validate rollback", "Jamf", "validate rollback [KEY]", "Test the rollback procedure",
                ("validate rollback CPE-3222",), E, "optional", "Validating the rollback for {key}"),
    CommandSpec("rollback status", "Jamf", "rollback status [KEY]", "Is a rollback ready if needed?",
                ("rollback status", "rollback status CPE-3222"), V, "optional",
                "Checking rollback readiness for {key}"),
    CommandSpec("audit report", "Jamf", "audit report [KEY]", "Compliance documentation for auditors",
                ("audit report CPE-3222",), V, "optional", "Building the audit report for {key}"),
    CommandSpec("evidence", "Jamf", "evidence [KEY]", "The evidence pack for auditors (zip)",
                ("evidence CPE-3222",), V, "optional", "Building the evidence pack for {key}",
                details="A zip with the audit timeline and its hashes, every go/no-go with the numbers seen, "
                "compliance per ring (CSV and chart), exceptions, the Jamf policy and rollback configuration "
                "and a manifest with the SHA-256 of each file; shared in the thread and attached to Jira."),
    CommandSpec("validate package", "Jamf", "validate package [KEY] [file.pkg | package name]",
                "Check the package: signature, bundle id, version",
                ("validate package CPE-3222", "validate package CPE-3222 GoogleChrome-120.pkg"),
                E, "optional",
                details="Without a name, the package on the ticket's Jamf policy. remedy reads it from the "
                "distribution point (REMEDY_PACKAGE_SOURCE) without running it and checks: Jamf's record and "
                "hash, the flat-package format and TOC checksum, bundle id and version against the ticket, "
                "the signature, and that the policy installs it and the rollback policy an older one. A .pkg "
                "attached to the Jira ticket under the package's file name (or the name you give) is a local "
                "copy: it must have the hash Jamf recorded."),
    # Updates
    CommandSpec("daily update", "Updates", "daily update [KEY] [--no-jira]",
                "Write today's update (posted to Jira unless --no-jira)",
                ("daily update CPE-3222", "daily update --no-jira"), E, "optional"),
    CommandSpec("daily updates", "Updates", "daily updates", "Daily updates for all your active tickets",
                ("daily updates",), E, doing="Writing daily updates for your active tickets"),
    CommandSpec("digest here", "Updates", "digest here HH:MM <timezone> [weekdays|daily]",
                "Post the team digest in this channel", ("digest here 09:00 Europe/Berlin",), E,
                details="Timezone: an IANA name such as `Europe/Berlin` or `America/New_York`. "
                "Default: weekdays."),
    CommandSpec("digest off", "Updates", "digest off", "Stop the digest in this channel", ("digest off",), E,
                doing="Turning the digest off"),
    CommandSpec("digest show", "Updates", "digest show", "Show this channel's digest schedule",
                ("digest show",), V,
                doing="Looking up the digest schedule", aliases=("digest", "digest status")),
    CommandSpec("morning", "Updates", "morning [on [HH:MM] | off]",
                "A weekday DM of your active remediations at your own local time",
                ("morning on 08:30", "morning off", "morning"), V,
                details="The time is in your Slack timezone (your profile's), 08:30 unless you give one; "
                "`morning` alone shows what is set."),
    # Ops
    CommandSpec("help", "Ops", "help [command]", "All commands, or details for one",
                ("help", "help move"), V),
    CommandSpec("jobs", "Ops", "jobs", "Your recent jobs and their state", ("jobs",), V,
                doing="Listing your recent jobs"),
    CommandSpec("retry", "Ops", "retry JOB_ID", "Run a failed job again", ("retry 7f3a9c2e",), E),
    CommandSpec("doctor", "Ops", "doctor", "Check connections: Jira, Jamf, Slack, Ollama, queue",
                ("doctor",), V,
                doing="Checking remedy's health"),
)

CATALOG: Mapping[str, CommandSpec] = MappingProxyType({row.name: row for row in _ROWS})

# Every spelling a user may type (name or alias, as a word tuple) → canonical name.
PHRASES: Mapping[tuple[str, ...], str] = MappingProxyType(
    {tuple(phrase.split()): row.name for row in _ROWS for phrase in row.phrases}
)
LONGEST_PHRASE = max(len(words) for words in PHRASES)


def match_phrase(words: list[str]) -> tuple[str, int] | None:
    """Longest command phrase at the start of `words` (casefolded), as (name, words used)."""
    for size in range(min(LONGEST_PHRASE, len(words)), 0, -1):
        name = PHRASES.get(tuple(words[:size]))
        if name is not None:
            return name, size
    return None


def by_area() -> dict[str, list[CommandSpec]]:
    grouped: dict[str, list[CommandSpec]] = {area: [] for area in AREAS}
    for row in _ROWS:
        grouped[row.area].append(row)
    return grouped
