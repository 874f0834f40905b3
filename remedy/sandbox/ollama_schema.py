"""Filling a JSON schema from a facts object: how the Ollama simulator's stand-in model answers a
``format`` request with an object that validates, each field taken from the fact it names."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

Json = dict[str, Any]
_MAX_DEPTH = 8  # a recursive schema gets no deeper than this


def _spelled(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _index(value: Any, into: Json | None = None) -> Json:
    """Every key anywhere in the facts → its first value, so a schema field can take the fact it names."""
    into = {} if into is None else into
    if isinstance(value, dict):
        for key, inner in value.items():
            into.setdefault(str(key), inner)
            _index(inner, into)
    elif isinstance(value, list):
        for inner in value:
            _index(inner, into)
    return into


@dataclass(frozen=True)
class _Filling:
    root: Json  # the whole schema, for $ref
    facts: Json  # from _index
    text: str  # for a string field no fact is named after


def fill(schema: Json, facts: Json, text: str) -> Any:
    """An instance of ``schema`` (the JSON Schema subset pydantic and hand-written schemas use)."""
    return _value(schema, "", _Filling(schema, _index(facts), text), 0)


def _resolve(schema: Json, root: Json) -> Json:
    seen = 0
    while "$ref" in schema and seen < _MAX_DEPTH:
        target: Any = root
        for part in str(schema["$ref"]).removeprefix("#/").split("/"):
            target = target.get(part.replace("~1", "/").replace("~0", "~"), {}) if part else target
        schema, seen = target if isinstance(target, dict) else {}, seen + 1
    return schema


def _value(schema: Json, name: str, ctx: _Filling, depth: int) -> Any:
    schema = _resolve(schema, ctx.root)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        fact = ctx.facts.get(name)
        return fact if fact in schema["enum"] else schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):  # an Optional field: take the option that says something
            options = [_resolve(o, ctx.root) for o in schema[key]]
            chosen = next((o for o in options if o.get("type") != "null"), options[0])
            return _value(chosen, name, ctx, depth + 1)
    kind = schema.get("type", "object" if "properties" in schema else None)
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props = schema.get("properties", {}) if depth < _MAX_DEPTH else {}
        return {key: _value(sub, key, ctx, depth + 1) for key, sub in props.items()}
    if kind == "array":
        return _array(schema, name, ctx, depth)
    if kind in ("integer", "number"):
        return _number(schema, ctx.facts.get(name), ctx.facts, kind == "integer")
    if kind == "boolean":
        fact = ctx.facts.get(name)
        return fact if isinstance(fact, bool) else False
    if kind == "null":
        return None
    return _string(schema, ctx.facts.get(name), ctx.text)


def _string(schema: Json, fact: Any, text: str) -> str:
    if schema.get("format") in ("date-time", "date"):
        stamp = fact if isinstance(fact, str) else "1970-01-01T00:00:00Z"
        return stamp[:10] if schema["format"] == "date" else stamp
    if isinstance(fact, str | int | float) and not isinstance(fact, bool) and fact != "":
        value = _spelled(fact)
    elif isinstance(fact, list) and fact and all(isinstance(v, str | int | float) for v in fact):
        value = ", ".join(_spelled(v) for v in fact)
    else:
        value = text
    minimum, maximum = int(schema.get("minLength", 0)), schema.get("maxLength")
    while len(value) < minimum:
        value += " " + (text or ".")
    return value[: int(maximum)] if maximum is not None else value


def _number(schema: Json, fact: Any, facts: Json, integer: bool) -> int | float:
    low, high = schema.get("minimum"), schema.get("maximum")
    low_x, high_x = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    # The fact of that name, else any fact in range: always a number the prompt states.
    stated = [v for v in [fact, *facts.values()] if isinstance(v, int if integer else int | float)
              and not isinstance(v, bool) and (low is None or v >= low) and (high is None or v <= high)
              and (low_x is None or v > low_x) and (high_x is None or v < high_x)]  # fmt: skip
    fallback = low if low is not None else (low_x + 1 if low_x is not None else 0)
    return stated[0] if stated else (int(fallback) if integer else fallback)


def _array(schema: Json, name: str, ctx: _Filling, depth: int) -> list[Any]:
    items, fact = schema.get("items", {}), ctx.facts.get(name)
    maximum = schema.get("maxItems")
    item_kind = _resolve(items, ctx.root).get("type") if isinstance(items, dict) else None
    if isinstance(fact, list) and fact and item_kind in ("string", "integer", "number"):
        wanted = str if item_kind == "string" else (int if item_kind == "integer" else int | float)
        if all(isinstance(v, wanted) and not isinstance(v, bool) for v in fact):
            return fact[: int(maximum)] if maximum is not None else list(fact)
    size = max(int(schema.get("minItems", 0)), 1 if depth < _MAX_DEPTH else 0)
    size = min(size, int(maximum)) if maximum is not None else size
    return [_value(items if isinstance(items, dict) else {}, name, ctx, depth + 1) for _ in range(size)]
