"""The team directory: people, groups and roles across Slack, Jira and the org chart."""

from remedy.team.directory import (
    Directory,
    Escalation,
    Group,
    Person,
    Resolution,
    TeamConfigError,
    load_directory,
)

__all__ = ["Directory", "Escalation", "Group", "Person", "Resolution", "TeamConfigError", "load_directory"]
