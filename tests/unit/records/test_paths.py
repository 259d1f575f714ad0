"""Dotted paths: the one getter and setter of the CLI, the fan-out and the inventory."""

from __future__ import annotations

import pytest

from audit.records import MISSING, get_path, is_missing, set_path


@pytest.mark.parametrize(
    ("record", "path", "expected"),
    [
        ({"text": "a"}, "text", "a"),
        ({"user": {"post": {"text": "b"}}}, "user.post.text", "b"),
        ({"posts": [{"text": "c"}, {"text": "d"}]}, "posts.1.text", "d"),
        ({"post.body": "flat", "post": {"body": "nested"}}, "post.body", "flat"),
        ({"user": {"first.name": "e"}}, "user.first.name", "e"),  # a dotted key below the top
        ({"a.b": {"x": 1}, "a": {"b": {"c": "f"}}}, "a.b.c", "f"),  # a.b leads nowhere: a, b
        ({"text": None}, "text", None),  # a JSON null is found, and is None
        ({"n": {"0": "g"}}, "n.0", "g"),  # a digit key of an object is a key
    ],
)
def test_get_path_finds(record: dict, path: str, expected: object) -> None:
    assert get_path(record, path) == expected


@pytest.mark.parametrize(
    ("record", "path"),
    [
        ({"post": {}}, "post.body"),
        ({"post": "text"}, "post.body"),  # a string has no fields
        ({"posts": [1, 2]}, "posts.2"),  # past the end
        ({"posts": [1, 2]}, "posts.-1"),
        ({"posts": [1, 2]}, "posts.²"),  # a digit to str.isdigit, not to int()
    ],
)
def test_get_path_misses(record: dict, path: str) -> None:
    assert is_missing(get_path(record, path)) and get_path(record, path) is MISSING


def test_set_path_writes_where_get_path_reads() -> None:
    record = {"post.body": "flat", "user": {"first.name": "x", "tags": ["a", "b"]}}
    for path in ("post.body", "user.first.name", "user.tags.1"):
        set_path(record, path, "REDACTED")
        assert get_path(record, path) == "REDACTED"
    user = {"first.name": "REDACTED", "tags": ["a", "REDACTED"]}
    assert record == {"post.body": "REDACTED", "user": user}
    with pytest.raises(KeyError):
        set_path(record, "user.nope", 1)
