"""Daily updates per ticket (facts computed, words checked) and the compliance-over-time chart."""
