"""The Slack edge: parse → authorize → enqueue → ack. No slow I/O here."""
