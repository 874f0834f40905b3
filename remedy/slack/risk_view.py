"""Block Kit for risks (`risks`, the hourly channel post) and for `team impact`.

Each risk is a section: its line, the evidence under it, and the obvious next action as a button
that runs that command about the ticket when pressed.
"""

from __future__ import annotations

from remedy.insights.impact import Edge, Impact
from remedy.insights.model import Risk
from remedy.slack.blocks import Block, command_button, context, packed_sections, section
from remedy.slack.mrkdwn import BLOCKS_MAX, escape

_RISK_BLOCKS = BLOCKS_MAX - 4  # header, summary, overflow line, footer


def risk_block(risk: Risk, prefix: str = "") -> Block:
    block = section(f"{prefix}{risk.line()}\n_{risk.evidence}_")
    if risk.action is not None:
        block["accessory"] = command_button(risk.action.label, risk.action.command, risk.ticket)
    return block


def risk_blocks(head: str, summary: str, risks: list[Risk], foot: str, updates: frozenset[str] = frozenset()
                ) -> list[Block]:
    """``updates``: idents of risks posted before whose evidence changed (marked as updates)."""
    blks = [section(head), context(summary)]
    for risk in risks[:_RISK_BLOCKS]:
        blks.append(risk_block(risk, "🔁 _update_ · " if risk.ident in updates else ""))
    if len(risks) > _RISK_BLOCKS:
        blks.append(section(f"…and {len(risks) - _RISK_BLOCKS} more: run `risks` for the full list"))
    blks.append(context(foot))
    return blks


def compact(risks: list[Risk]) -> str:
    """'⚠️ CPE-3301 vendor response overdue (3 days) · ⚠️ CPE-3445 missing 13% of devices, deadline in 2 days'"""
    return " · ".join(f"{r.mark} {r.ticket} {r.headline.replace('*', '')}" for r in risks)


def _edge(edge: Edge, summaries: dict[str, str]) -> str:
    about = summaries.get(edge.blocked)
    title = f" {escape(about)}" if about else ""
    return (f"⛔ *{edge.blocker}* ({escape(edge.blocker_team)}, {escape(edge.blocker_status)}) blocks "
            f"*{edge.blocked}*{title} ({escape(edge.blocked_team)})")


def impact_blocks(found: Impact, max_open: int, priorities: tuple[str, ...]) -> tuple[str, list[Block]]:
    cross, inside = found.cross, [e for e in found.edges if not e.crosses]
    head = (f"🕸 *Team impact*: {len(found.edges)} blocking link{'s' if len(found.edges) != 1 else ''}, "
            f"{len(cross)} across teams, {len(found.cycles)} cycle{'s' if len(found.cycles) != 1 else ''}, "
            f"{len(found.overloaded)} overloaded")
    lines: list[str] = []
    if cross:
        lines += ["*Across teams*", *(_edge(e, found.summaries) for e in cross)]
    if found.cycles:
        lines += ["*Cycles* (none of these can move until one link is cut)",
                  *("🔁 " + " blocks ".join(f"*{k}*" for k in cycle) for cycle in found.cycles)]
    if found.overloaded:
        which = "/".join(escape(p) for p in priorities)
        lines += [f"*Overloaded* (more than {max_open} open {which} tickets)",
                  *(f"🏋 {escape(load.name)}: {len(load.keys)} open — {', '.join(load.keys)}"
                    for load in found.overloaded)]
    if inside:
        lines += ["*Within a team*", *(_edge(e, found.summaries) for e in inside)]
    if not lines:
        lines = ["No blocking links between open tickets, and nobody over the limit."]
    foot = ("Team: the team.yml group of the assignee, else the Jira project · blocking links from Jira "
            "“Blocks” links · limits in insights.yml")
    plain = head.replace("*", "")
    return plain, [*packed_sections([head, *lines], BLOCKS_MAX - 1), context(foot)]
