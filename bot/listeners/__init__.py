"""Listeners, one module per kind of Slack request."""
