"""Phases, workflow templates, rings, rules: the remediation workflow as data and code."""

from remedy.workflow.template import Phase, WorkflowError, WorkflowTemplate, load_workflow

__all__ = ["Phase", "WorkflowError", "WorkflowTemplate", "load_workflow"]
