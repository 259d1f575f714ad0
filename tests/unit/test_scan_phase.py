"""A scan's phase and fraction (``audit.scans.scan_phase``): 1.0 only once it is done."""

from __future__ import annotations

from dataclasses import replace

from audit.kinds import as_fields
from audit.scans import scan_phase
from audit.storage import ScanRecord

_AT = "2026-11-22T08:00:00.000000Z"
QUEUED = ScanRecord("a" * 32, "pii", "queued", {"kind": "pii"}, _AT, _AT)


def test_phases_from_queued_to_done() -> None:
    assert (scan_phase(QUEUED).phase, scan_phase(QUEUED).fraction) == ("queued", None)
    running = replace(QUEUED, status="running", batches_total=4, batches_done=2, batches_failed=1)
    got = scan_phase(running)
    assert (got.phase, got.fraction, got.label) == (
        "running",
        0.6,
        "running: 3 of 4 batches finished",
    )
    merging = replace(running, batches_done=3)
    assert (scan_phase(merging).phase, scan_phase(merging).fraction) == ("aggregating", 0.8)
    rendering = replace(
        merging, status="succeeded", summary={"reports": {"html": "ok", "pdf": "pending"}}
    )
    assert (scan_phase(rendering).phase, scan_phase(rendering).fraction) == ("rendering", 0.8)
    done = replace(rendering, summary={"reports": {"html": "ok", "pdf": "unavailable: no fonts"}})
    assert (scan_phase(done).phase, scan_phase(done).fraction) == ("done", 1.0)
    for status in ("failed", "cancelled"):
        ended = replace(running, status=status)
        assert (scan_phase(ended).phase, scan_phase(ended).fraction) == (status, 0.6)


def test_cli_flags_in_messages_become_field_names() -> None:
    assert as_fields("name at least one user attribute with --user-groups") == (
        "name at least one user attribute with user_groups"
    )
    assert as_fields("--recommender 'x' cannot be loaded") == "model 'x' cannot be loaded"
    assert as_fields("--no-explain skips it; --no-deps is pip's") == (
        "explain skips it; --no-deps is pip's"
    )
