"""Phases, workflow templates, rings, rules: the remediation workflow as data and code."""

from remedy.workflow.priority import (
    Override,
    Part,
    PriorityFacts,
    PriorityRules,
    PriorityRulesError,
    Ranked,
    Score,
    breakdown,
    facts_for,
    load_priority_rules,
    order,
    score,
)
from remedy.workflow.template import Phase, WorkflowError, WorkflowTemplate, load_workflow

__all__ = [
    "Override",
    "Part",
    "Phase",
    "PriorityFacts",
    "PriorityRules",
    "PriorityRulesError",
    "Ranked",
    "Score",
    "WorkflowError",
    "WorkflowTemplate",
    "breakdown",
    "facts_for",
    "load_priority_rules",
    "load_workflow",
    "order",
    "score",
]
