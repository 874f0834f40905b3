"""Scheduled digests: schedules, due times, runs, and the digest built from the daily-update facts."""
