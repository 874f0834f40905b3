"""Bulk commands: many tickets at once (epic focus, batch comment, close all resolved, compliance report).

Scopes resolve to Jira searches built with :mod:`remedy.jira.jql`; writes go through
:func:`remedy.bulk.runner.run_paced`, which keeps to Jira's rate and makes each ticket's write once.
"""
