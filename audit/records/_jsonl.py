"""JSON Lines: one object per line. Every bad line is one skipped record, never an exception."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from typing import Any

from audit.records._lines import BOM, Lines
from audit.records._record import Record
from audit.records._skips import MAX_DEPTH, SkipReason

#: A ``\\uD800``-``\\uDFFF`` escape: half of a surrogate pair, or a lone surrogate.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")


def _depth_over(value: Any, limit: int) -> bool:
    """Whether ``value`` nests objects and arrays more than ``limit`` levels deep."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        if depth > limit:
            return True
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


def _encodable(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _problem(text: str, data: Any) -> tuple[SkipReason, str] | None:
    """Why a parsed line is no record we take, if it is not."""
    if not isinstance(data, dict):
        return "not_an_object", f"a JSON {type(data).__name__}"
    # Both checks are costly and rarely needed: only lines that could fail them are checked.
    if text.count("{") + text.count("[") > MAX_DEPTH and _depth_over(data, MAX_DEPTH):
        return "too_deeply_nested", f"nested more than {MAX_DEPTH} levels deep"
    if "\\u" in text and _SURROGATE_ESCAPE.search(text) and not _encodable(data):
        return "undecodable", "a lone surrogate escape (\\ud800-\\udfff): not Unicode text"
    return None


def parse_line(line: bytes, index: int, offset: int) -> Record | None:
    """One line as a record (``None`` for a blank line, which is no record)."""
    line = line.strip()
    if not line:
        return None
    problem: tuple[SkipReason, str]
    nul = line.find(b"\x00")
    if nul >= 0:
        problem = "undecodable", f"a NUL byte at byte {nul} of the line: binary, not text"
    else:
        try:
            text = line.decode("utf-8")
            data = json.loads(text)
        except UnicodeDecodeError as exc:
            problem = "undecodable", f"not UTF-8: byte {exc.start} of the line"
        except json.JSONDecodeError as exc:
            problem = "malformed_json", f"{exc.msg} at column {exc.colno}"
        except RecursionError:
            problem = "too_deeply_nested", f"nested more than {MAX_DEPTH} levels deep"
        except ValueError:  # only the int-string conversion limit gets here
            limit = sys.get_int_max_str_digits()
            problem = "number_too_long", f"an integer longer than {limit} digits"
        else:
            found = _problem(text, data)
            if found is None:
                return Record(index, data=data, offset=offset)
            problem = found
    return Record(index, reason=problem[0], detail=problem[1], offset=offset)


def jsonl_records(lines: Lines, end: int | None, max_bytes: int) -> Iterator[Record]:
    """The records of the lines that begin before byte ``end`` (all when ``None``)."""
    index = 0
    while end is None or lines.offset < end:
        offset = lines.offset
        line = lines.read(max_bytes + 1)
        if not line:
            return
        index += 1
        if len(line) > max_bytes and not line.endswith(b"\n"):
            lines.drain()
            yield Record(
                index,
                reason="record_too_large",
                detail=f"line longer than {max_bytes} bytes (max_record_bytes)",
                offset=offset,
            )
            continue
        if offset == 0 and line.startswith(BOM):
            line = line[len(BOM) :]  # the line begins at 0: a range from 1 on is not its owner
        record = parse_line(line, index, offset)
        if record is not None:
            yield record
