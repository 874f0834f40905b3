"""Work sessions: a time-boxed, ordered checklist of actions on the user's tickets.

    plan.py      what to do, in which order, and what fits the time box (pure)
    evidence.py  which audit events check an item off, and what changed (pure)
    inputs.py    the planner's inputs from Jira and remedy's records
    store.py     the session row: at most one open per user, conditional closes
    updates.py   stakeholder updates at the end, worded by the model or a template
"""
