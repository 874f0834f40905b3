"""Where a value sits in a YAML file, for errors a person can find ("team.yml, line 14")."""

from __future__ import annotations

from collections.abc import Sequence

import yaml


def line_of(text: str, path: Sequence[str | int]) -> int | None:
    """The 1-based line of the YAML value at ``path`` (or of its nearest parent that exists)."""
    node: yaml.Node | None = yaml.compose(text)
    line = None
    for step in path:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == str(step)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
        else:
            node = None
        if node is None:
            break
        line = node.start_mark.line + 1
    return line
