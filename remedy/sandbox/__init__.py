"""Stateful simulators of Slack, Jira (and later Jamf, Ollama) with seed data."""
