"""`exec summary`: the one-page leadership summary (numbers from the code `compliance` and `risks` use)."""
