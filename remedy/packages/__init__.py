"""Package validation for the Build & Test phase: read an Apple flat package (xar) without running it,
check it against Jamf's record and the ticket, and gate the move to Pilot on the result."""
