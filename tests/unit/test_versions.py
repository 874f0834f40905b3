"""Version comparison for compliance: numeric, dotted, tolerant of vendor decorations."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from remedy.jamf.versions import compare_versions, is_compliant, version_key

dotted = st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=5).map(
    lambda parts: ".".join(map(str, parts))
)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("120.0.6099.109", "120.0.6099.71", 1),
        ("10", "9", 1),
        ("9", "10", -1),
        ("1.2", "1.2.0", 0),
        ("4.36.140 (arm64)", "4.36.140", 0),
        ("4.36.134 (arm64)", "4.36.140", -1),
        ("5.17.5 (28185)", "5.17.5", 1),
        ("5.17.5 (28185)", "5.17.10", -1),
        ("2.0b1", "2.0", 1),
        ("2.0b1", "2.0b2", -1),
    ],
)
def test_examples(a: str, b: str, expected: int) -> None:
    assert compare_versions(a, b) == expected
    assert compare_versions(b, a) == -expected


def test_string_compare_would_be_wrong() -> None:
    assert "9" > "10"  # what a naive compare believes
    assert compare_versions("9", "10") < 0 and version_key("9") < version_key("10")


def test_is_compliant() -> None:
    assert is_compliant("120.0.6099.109", "120.0.6099.109")
    assert is_compliant("120.0.6099.129", "120.0.6099.109")
    assert not is_compliant("120.0.6099.71", "120.0.6099.109")
    assert not is_compliant(None, "1.0") and not is_compliant("  ", "1.0")


@given(dotted, dotted)
def test_antisymmetric(a: str, b: str) -> None:
    assert compare_versions(a, b) == -compare_versions(b, a)


@given(dotted, dotted, dotted)
def test_transitive(a: str, b: str, c: str) -> None:
    if compare_versions(a, b) <= 0 and compare_versions(b, c) <= 0:
        assert compare_versions(a, c) <= 0


@given(dotted)
def test_trailing_zeros_do_not_matter(a: str) -> None:
    assert compare_versions(a, a + ".0") == 0 and compare_versions(a, a) == 0


@given(st.lists(st.integers(min_value=0, max_value=999), min_size=1, max_size=4))
def test_numeric_not_lexicographic(parts: list[int]) -> None:
    bigger = [*parts[:-1], parts[-1] + 1]
    assert compare_versions(".".join(map(str, bigger)), ".".join(map(str, parts))) == 1
