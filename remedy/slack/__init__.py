"""Slack side of the core: posting into home threads, Block Kit builders, mrkdwn safety."""
