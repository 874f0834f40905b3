"""Evidence packs: everything an auditor asks about one remediation, in one zip with a manifest."""
