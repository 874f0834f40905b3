"""RQ job functions: small, importable by dotted name, JSON arguments only."""
