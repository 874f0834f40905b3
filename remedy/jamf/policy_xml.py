"""Classic API policy XML: built with ``xml.etree`` (never by string formatting) and parsed defensively.

Policies exist only in the Classic API. A document we send carries just the elements we mean to set:
Classic keeps elements that are absent, but a ``<computer_groups>`` list *replaces* the scope's groups,
so a scope change always sends the full list. Answers are parsed leniently: a missing element takes
its default instead of failing the whole read.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable

from remedy.jamf.errors import JamfUnavailable
from remedy.jamf.models import Policy, PolicySpec

_TRUE = {"true", "1", "yes"}


def _sub(parent: ET.Element, tag: str, text: object = None) -> ET.Element:
    element = ET.SubElement(parent, tag)
    if text is not None:
        element.text = str(text).lower() if isinstance(text, bool) else str(text)
    return element


def _document(root: ET.Element) -> bytes:
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>' + body


def _scope(root: ET.Element, group_ids: Iterable[int]) -> None:
    groups = _sub(_sub(root, "scope"), "computer_groups")
    for group_id in group_ids:
        _sub(_sub(groups, "computer_group"), "id", int(group_id))


def policy_document(spec: PolicySpec) -> bytes:
    """The full ``<policy>`` for a create or an update from a spec."""
    root = ET.Element("policy")
    general = _sub(root, "general")
    _sub(general, "name", spec.name)
    _sub(general, "enabled", spec.enabled)
    _sub(general, "trigger_checkin", spec.trigger_checkin)
    # Once per computer: a remediation installs a package once; a retry policy is a separate object.
    _sub(general, "frequency", "Once per computer")
    if spec.category is not None:
        _sub(_sub(general, "category"), "name", spec.category)
    _scope(root, spec.group_ids)
    package = _sub(_sub(_sub(root, "package_configuration"), "packages"), "package")
    _sub(package, "id", int(spec.package_id))
    _sub(package, "action", "Install")
    return _document(root)


def scope_document(group_ids: Iterable[int], enabled: bool | None = None) -> bytes:
    """Only the scope (and, when given, the enabled flag): every other setting is left as it is."""
    root = ET.Element("policy")
    if enabled is not None:
        _sub(_sub(root, "general"), "enabled", enabled)
    _scope(root, group_ids)
    return _document(root)


def enabled_document(enabled: bool) -> bytes:
    root = ET.Element("policy")
    _sub(_sub(root, "general"), "enabled", enabled)
    return _document(root)


def parse_xml(body: bytes, what: str) -> ET.Element:
    """Parse a Classic answer with the stdlib parser; XML that does not parse is Jamf failing to answer."""
    try:
        return ET.fromstring(body)
    except ET.ParseError:
        raise JamfUnavailable(f"Jamf answered {what} with XML that does not parse") from None


def text_at(parent: ET.Element | None, path: str) -> str:
    found = None if parent is None else parent.find(path)
    return "" if found is None or found.text is None else found.text.strip()


def int_or_none(text: str) -> int | None:
    return int(text) if text.lstrip("-").isdigit() else None


def _ids(parent: ET.Element, path: str) -> tuple[int, ...]:
    found = (int_or_none(text_at(element, "id")) for element in parent.findall(path))
    return tuple(i for i in found if i is not None)


def parse_id(body: bytes, what: str = "a policy write") -> int:
    """The id in Classic's create/update answer, ``<policy><id>7</id></policy>``."""
    number = int_or_none(text_at(parse_xml(body, what), "id"))
    if number is None:
        raise JamfUnavailable(f"Jamf answered {what} without an id")
    return number


def parse_policy(body: bytes) -> Policy:
    root = parse_xml(body, "a policy read")
    general = root.find("general")
    number = int_or_none(text_at(general, "id"))
    if number is None:
        raise JamfUnavailable("Jamf answered a policy read without a policy id")
    return Policy(
        id=number,
        name=text_at(general, "name"),
        enabled=text_at(general, "enabled").lower() in _TRUE,
        trigger_checkin=text_at(general, "trigger_checkin").lower() in _TRUE,
        package_ids=_ids(root, "package_configuration/packages/package"),
        group_ids=_ids(root, "scope/computer_groups/computer_group"),
    )


def parse_policy_list(body: bytes) -> list[tuple[int, str]]:
    """``GET /JSSResource/policies``: (id, name) for every policy."""
    root = parse_xml(body, "the policy list")
    found = []
    for element in root.findall("policy"):
        number = int_or_none(text_at(element, "id"))
        if number is not None:
            found.append((number, text_at(element, "name")))
    return found
