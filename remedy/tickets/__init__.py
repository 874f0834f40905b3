"""Ticket actions that are more than one client call: drafts, facts for wording."""
