"""A daily update in words: the template (always correct, the roadmap's shape) and, when a model is
configured, its rewording, kept only if every number and name in it is in the facts.

"Day 3 of Pilot: Pilot 95.6% (43/45) ✅ ≥ 90%. 1 blocker resolved (CPE-3301).
 Compliance: 847/890 Macs (95.2%), ▲ +41 since the last update (2026-11-26 09:00 UTC).
 Next: expand to Phase 1 after a lead's go (`rollout next CPE-3222`)."
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from remedy.llm.client import Llm, Use
from remedy.llm.words import Phrased, phrase
from remedy.slack import blocks
from remedy.slack.blocks import Block
from remedy.slack.mrkdwn import SECTION_TEXT_MAX, escape, truncate

DAILY = Use(
    name="daily_update", version=1,
    instructions=("You are remedy, the assistant of a macOS client-platform team. Write today's update of one app "
                  "remediation ticket, for its Slack thread and its Jira ticket: plain, specific, no greetings, no "
                  "markdown headings, every number exactly as the facts give it. Each field one or two short "
                  "sentences."),
    fields={"progress": "day N of the phase, each started ring's success rate against its threshold, blockers "
                        "opened or resolved, decisions taken",
            "compliance": "fleet compliance as compliant/total Macs (percent) and the change since the last update",
            "next": "what happens next in the rollout"},
)
FIELDS = tuple(DAILY.fields)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def _rings(f: dict[str, Any]) -> str:
    parts = []
    for r in f["rings"]:
        mark = "✅" if r["meets_threshold"] else "⏳"
        line = f"{r['label']} {r['rate']:.1f}% ({r['compliant']}/{r['with_app']}) {mark} ≥ {r['threshold']:g}%"
        parts.append(line + (f", {_plural(r['failures'], 'failure')}" if r["failures"] else ""))
    return "; ".join(parts) or "no ring deployed yet"


def _blockers(f: dict[str, Any]) -> str:
    status = {b["key"]: b["status"] for b in f["blockers"]}
    parts = []
    if f["blockers_resolved"]:
        keys = f["blockers_resolved"]
        parts.append(f"{_plural(len(keys), 'blocker')} resolved ({', '.join(keys)})")
    if f["blockers_opened"]:
        keys = f["blockers_opened"]
        parts.append(f"{_plural(len(keys), 'new blocker')} ({', '.join(f'{k}, {status[k]}' for k in keys)})")
    still = [b for b in f["blockers"] if b["open"] and b["key"] not in f["blockers_opened"]]
    if still:
        parts.append("blocked by " + ", ".join(f"{b['key']} ({b['status']})" for b in still))
    elif not f["blockers_opened"]:
        parts.append("no open blockers")
    return "; ".join(parts)


def _decisions(f: dict[str, Any]) -> str:
    said = []
    for d in f["decisions"]:
        prep = "before" if d["decision"] == "Hold" else "for"
        reason = f": {d['reason']}" if d.get("reason") else ""
        said.append(f"{d['decision']} {prep} {d['ring']} by {d['by']}{reason}")
    return "; ".join(said)


def compliance_sentence(f: dict[str, Any]) -> str:
    c = f["compliance"]
    line = f"Compliance: {c['compliant']}/{c['macs_with_app']} Macs ({c['percent']:.1f}%)"
    change = f.get("change")
    if change is None:
        return line + "."
    if change["delta"] == 0:
        return line + f", unchanged since {change['against']} ({change['since']})."
    arrow = "▲" if change["delta"] > 0 else "▼"
    return line + f", {arrow} {change['delta']:+d} since {change['against']} ({change['since']})."


def templates(f: dict[str, Any]) -> dict[str, str]:
    """Plain text (not escaped): the Jira comment takes it as it is, Slack escapes it."""
    blockers = _blockers(f)
    progress = f"Day {f['phase_day']} of {f['phase']}: {_rings(f)}. {blockers[:1].upper()}{blockers[1:]}."
    decided = _decisions(f)
    if decided:
        progress += f" {decided}."
    return {"progress": progress, "compliance": compliance_sentence(f), "next": f"Next: {f['next']}."}


def no_change_line(f: dict[str, Any], since: str) -> str:
    c = f["compliance"]
    open_ = [b["key"] for b in f["blockers"] if b["open"]]
    blockers = f"blocked by {', '.join(open_)}" if open_ else "no open blockers"
    return (f"No change since {since}: day {f['phase_day']} of {f['phase']}, compliance {c['compliant']}/"
            f"{c['macs_with_app']} Macs ({c['percent']:.1f}%), {blockers}.")


@dataclass(frozen=True)
class Worded:
    slack: str  # mrkdwn, safe to post
    jira: str  # plain text for the comment (ADF is made from it)
    by_model: frozenset[str]
    rejected: dict[str, list[str]]


def word(llm: Llm | None, facts: dict[str, Any], head: str, jira_head: str) -> Worded:
    """One model call for both texts: the model's fields come back unescaped (for Jira) and are escaped
    for Slack here, as the templates are; a field that states anything beyond the facts is the template's."""
    phrased: Phrased = phrase(llm, DAILY, facts, templates(facts), for_slack=False)
    fields = [phrased[name] for name in FIELDS]
    slack = "\n".join([head, *(escape(text) for text in fields)])
    jira = "\n".join([jira_head, *fields, "", "— via remedy"])
    return Worded(slack, jira, phrased.by_model, phrased.rejected)


def slack_blocks(text: str, facts: dict[str, Any], by_model: frozenset[str]) -> list[Block]:
    how = ("worded by the model, numbers checked" if by_model >= set(FIELDS) else
           "partly worded by the model, numbers checked" if by_model else "worded from the template")
    note = (f"Day {facts['phase_day']} counted from {escape(facts['phase_since_from'])}, {facts['phase_since']} · "
            f"Jamf inventory at {facts['as_of']} · {how}")
    return [blocks.section(truncate(text, SECTION_TEXT_MAX)), blocks.context(note)]


def summary_line(f: dict[str, Any]) -> str:
    """One line per ticket for the `daily updates` reply (plain text)."""
    c = f["compliance"]
    line = f"day {f['phase_day']} of {f['phase']}, {c['compliant']}/{c['macs_with_app']} Macs ({c['percent']:.1f}%)"
    change = f.get("change")
    if f.get("unchanged"):
        return line + f", no change since {f['unchanged_since']}"
    if change is not None and change["delta"]:
        line += f" {'▲' if change['delta'] > 0 else '▼'} {change['delta']:+d}"
    return line + f" · next: {f['next']}"
