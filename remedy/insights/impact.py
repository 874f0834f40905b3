"""`team impact`: the dependency graph of "Blocks" links, the links that cross teams, cycles in it, and
people carrying more open high-priority work than insights.yml allows. Pure: the job reads Jira.

A ticket's team is the team.yml group its assignee belongs to (as a member first, then as a lead),
else its Jira project key (a ticket of another project, or unassigned, is that project's).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from remedy.insights.risks import blocking_pairs
from remedy.insights.settings import InsightSettings
from remedy.jira.models import Issue
from remedy.team.directory import Directory


@dataclass(frozen=True)
class Edge:
    blocker: str
    blocked: str
    blocker_team: str
    blocked_team: str
    blocker_status: str

    @property
    def crosses(self) -> bool:
        return self.blocker_team != self.blocked_team


@dataclass(frozen=True)
class Load:
    account_id: str
    name: str
    keys: tuple[str, ...]


@dataclass(frozen=True)
class Impact:
    edges: list[Edge]
    cycles: list[list[str]]  # each as keys in blocking order, the first repeated at the end
    overloaded: list[Load]
    summaries: dict[str, str]

    @property
    def cross(self) -> list[Edge]:
        return [e for e in self.edges if e.crosses]


def project_of(key: str) -> str:
    return key.rsplit("-", 1)[0]


def groups_by_account(team: Directory) -> dict[str, str]:
    """Jira accountId → group name: a person's first group as a member, else their first as a lead."""
    found: dict[str, str] = {}
    for lead_pass in (False, True):
        for group in team.team.groups:
            handles = [group.lead] if lead_pass and group.lead else [] if lead_pass else group.members
            for handle in handles:
                person = team.by_handle(handle)
                if person is not None and person.jira_account_id:
                    found.setdefault(person.jira_account_id, group.name)
    return found


def team_of(key: str, issue: Issue | None, groups: dict[str, str]) -> str:
    account = issue.assignee.account_id if issue is not None and issue.assignee else None
    return groups.get(account or "", project_of(key))


def find_cycles(pairs: list[tuple[str, str]]) -> list[list[str]]:
    """One cycle per strongly connected group of tickets (Tarjan), walked from its smallest key:
    A blocks B blocks C blocks A → ["A", "B", "C", "A"]."""
    graph: dict[str, list[str]] = defaultdict(list)
    for blocker, blocked in sorted(pairs):
        graph[blocker].append(blocked)
    cycles = []
    for group in _components(graph):
        if len(group) > 1:
            cycles.append(_walk(graph, group))
    return sorted(cycles)


def _components(graph: dict[str, list[str]]) -> list[set[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(node: str) -> None:  # recursion depth = longest blocking chain: small in any real project
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, []):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.add(top)
                if top == node:
                    break
            found.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _walk(graph: dict[str, list[str]], group: set[str]) -> list[str]:
    """A shortest path from the group's smallest key back to itself, inside the group."""
    start = min(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        nxt_frontier = []
        for node in frontier:
            for nxt in sorted(graph.get(node, [])):
                if nxt == start:
                    return [*paths[node], start]
                if nxt in group and nxt not in paths:
                    paths[nxt] = [*paths[node], nxt]
                    nxt_frontier.append(nxt)
        frontier = nxt_frontier
    return [start, start]  # unreachable for a strongly connected group; kept total for the type


def overloaded(issues: list[Issue], settings: InsightSettings, team: Directory) -> list[Load]:
    """People with more than ``max_open`` open tickets of the listed priorities, most loaded first."""
    wanted = {p.casefold() for p in settings.overload.priorities}
    by_person: dict[str, list[Issue]] = defaultdict(list)
    for issue in issues:
        if not issue.is_done and issue.assignee and (issue.priority or "").casefold() in wanted:
            by_person[issue.assignee.account_id].append(issue)
    names = {p.jira_account_id: p.name for p in team.people if p.jira_account_id}
    loads = [Load(account, names.get(account, mine[0].assignee.display_name if mine[0].assignee else account),
                  tuple(sorted(i.key for i in mine)))
             for account, mine in by_person.items() if len(mine) > settings.overload.max_open]
    return sorted(loads, key=lambda load: (-len(load.keys), load.name))


def impact(issues: list[Issue], settings: InsightSettings, team: Directory) -> Impact:
    """``issues``: the open tickets and, where one links outside them, the linked tickets too."""
    by_key = {i.key: i for i in issues}
    groups = groups_by_account(team)
    pairs = blocking_pairs(issues)
    edges = [Edge(blocker, blocked, team_of(blocker, by_key.get(blocker), groups),
                  team_of(blocked, by_key.get(blocked), groups), status)
             for (blocker, blocked), status in sorted(pairs.items())]
    summaries = {i.key: i.summary for i in issues}
    return Impact(edges, find_cycles(list(pairs)), overloaded(issues, settings, team), summaries)
