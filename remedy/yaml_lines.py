"""Reading remedy's YAML config files, and where a value sits in one, for errors a person can find
("team.yml, line 14")."""

from __future__ import annotations

from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError


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


M = TypeVar("M", bound=BaseModel)


def read_config(config_dir: Path | None, name: str) -> tuple[str, str]:
    """(text, how to name it) of ``name`` in ``config_dir`` if it is there, else the shipped default."""
    if config_dir is not None and (config_dir / name).is_file():
        path = config_dir / name
        return path.read_text(encoding="utf-8"), str(path)
    return (files("remedy") / "defaults" / name).read_text(encoding="utf-8"), f"remedy/defaults/{name}"


def load_config(config_dir: Path | None, name: str, model: type[M], error: type[Exception]) -> M:
    """``name`` read (see :func:`read_config`) and validated as ``model``; a problem raises ``error``
    naming the file, the line and the value (`remedy config check` lists them all)."""
    text, source = read_config(config_dir, name)
    try:
        return model.model_validate(yaml.safe_load(text))
    except yaml.YAMLError as exc:
        raise error(f"{source}: not valid YAML ({exc})") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"])) or "(top level)"
        line = line_of(text, tuple(first["loc"])) if first["loc"] else None
        raise error(f"{source}" + (f", line {line}" if line else "") + f": {where}: {first['msg']}") from None
