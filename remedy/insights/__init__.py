"""Proactive insights: risks (rules over Jira, Jamf and remedy's records), team impact, and the hourly
post of new or changed risks to each team's channel. Numbers are computed here; the model only words
the summary."""
