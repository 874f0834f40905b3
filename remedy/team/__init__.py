"""The team directory: people, groups and roles across Slack, Jira and the org chart."""

from remedy.team.directory import Directory, Group, Person, Resolution, TeamConfigError, load_directory

__all__ = ["Directory", "Group", "Person", "Resolution", "TeamConfigError", "load_directory"]
