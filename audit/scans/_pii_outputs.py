"""What one batch of a PII scan writes besides its partial (findings parts, redacted copies), and
the names objects and byte ranges go under."""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path, PurePosixPath
from typing import Any

from audit.inputs import join
from audit.scans._batch import BatchRef, current_batch
from audit.scans._messages import Unit
from audit.scans._requests import PiiScan
from audit.storage import Sources


def _is_range(unit: Unit) -> bool:
    return unit.end is not None and (unit.start > 0 or unit.end < unit.size)


def _object_name(source: str, uri: str) -> str:
    """An object's name as ``socialaudit pii`` names it: the S3 key, or the path below the
    source folder (the file name for a one-file source).

    Sampling hashes this name and redacted copies are written under it, so a fan-out samples
    the objects and records a one-process scan of the same source samples.
    """
    if uri.startswith("s3://"):
        return uri[5:].partition("/")[2]
    src = Path(source)
    if src.is_dir():
        return Path(uri).relative_to(src).as_posix()
    return Path(uri).name


def _unit_name(source: str, unit: Unit) -> str:
    """The name a unit's records are counted and listed under: the object's name as
    ``socialaudit pii`` names it, with ``#bytes=<first>-<last>`` for a byte range (whose
    records are numbered by line within the range)."""
    name = _object_name(source, unit.uri)
    if _is_range(unit):
        name += f"#bytes={unit.start}-{(unit.end or unit.size) - 1}"
    return name


def _redacted_name(source: str, unit: Unit) -> str:
    """Where below ``<redact_to>/<scan id>/`` a unit's redacted copy goes.

    The object's name; a byte range of a split JSON-lines object gets
    ``<stem>.bytes-<first>-<last><suffix>`` (``part-0.bytes-0-4194303.jsonl``): the ranges,
    concatenated in order of their first byte, are the whole redacted object.
    """
    name = _object_name(source, unit.uri)
    if _is_range(unit):
        p = PurePosixPath(name)
        last = (unit.end or unit.size) - 1
        name = str(p.with_name(f"{p.stem}.bytes-{unit.start}-{last}{p.suffix}"))
    return name


def _dest_join(dest: str, *parts: str) -> str:
    return str(join(dest, "/".join(parts)))


class _UnitRedactor:
    """The batch's :class:`~audit.pii._output.Redactor`, writing one unit's records as one
    object in the unit's format (what ``scan_records`` calls ``redactor``)."""

    def __init__(self, redactor: Any, name: str, unit: Unit) -> None:
        from audit.pii._sources import ObjectInfo

        self._redactor = redactor
        self.obj = ObjectInfo(name, unit.format)
        self.wrote = False

    def redact_text(self, text: str, findings: list[Any]) -> str:
        return str(self._redactor.redact_text(text, findings))

    def write(self, obj: Any, record: dict[str, Any], text_field: str, redacted: str) -> None:
        if self.obj.schema is None:  # a Parquet copy keeps the schema it was read with
            self.obj.schema = obj.schema
        self._redactor.write(self.obj, record, text_field, redacted)
        self.wrote = True


class _BatchOutputs:
    """What one batch of a PII scan writes besides its partial, through :mod:`audit.pii`'s
    writers and the S3 client sources are read with.

    ``<findings>/<scan id>/part-<batch, 8 digits>.jsonl`` (one line per scanned record) and
    ``<redact_to>/<scan id>/<object>`` per unit (:func:`_redacted_name`). The same batch
    writes the same names, so a batch delivered again overwrites, never adds.
    """

    def __init__(self, request: PiiScan, config: Any, sources: Sources, batch: BatchRef) -> None:
        from audit.pii._output import FindingsWriter, Redactor

        def s3(dest: str) -> Any:
            return sources.s3_client() if dest.startswith("s3://") else None

        self.findings: Any = None
        self.redactor: Any = None
        self.where: dict[str, Any] = {}
        self._unit: _UnitRedactor | None = None
        if request.redact_to:  # first: a bad redaction config fails before a file is opened
            root = _dest_join(request.redact_to, batch.scan_id)
            self.redactor = Redactor(config, root, s3(request.redact_to))
            self.where.update(redacted_to=root + ("/" if root.startswith("s3://") else os.sep))
            self.where["redacted"] = []
        if request.findings:
            folder = _dest_join(request.findings, batch.scan_id)
            part = _dest_join(folder, f"part-{batch.batch_id:08d}.jsonl")
            self.findings = FindingsWriter(part, s3(request.findings))
            self.where.update(
                findings=folder + ("/" if folder.startswith("s3://") else os.sep),
                findings_part=part,
            )

    @classmethod
    def open(cls, request: PiiScan, config: Any, sources: Sources) -> _BatchOutputs | None:
        if not (request.findings or request.redact_to):
            return None
        batch = current_batch()
        if batch is None:
            raise RuntimeError("findings and redact_to are written per batch: use run_batch")
        return cls(request, config, sources, batch)

    def redactor_for(self, source: str, unit: Unit) -> _UnitRedactor | None:
        if self.redactor is None:
            return None
        self._unit = _UnitRedactor(self.redactor, _redacted_name(source, unit), unit)
        return self._unit

    def unit_done(self) -> None:
        unit, self._unit = self._unit, None
        if unit is not None:
            self.redactor.finish(unit.obj.name)  # closes and uploads the copy
            if unit.wrote:
                self.where["redacted"].append(_dest_join(self.where["redacted_to"], unit.obj.name))

    def close(self) -> dict[str, Any]:
        """Close (and upload) what is open; returns where everything went."""
        if self.findings is not None:
            self.findings.close()
        if self.redactor is not None:
            self.redactor.close()
        return self.where

    def abandon(self) -> None:
        # The batch failed and will be done again (or fail the scan): what was written is
        # left to be overwritten; an error here must not hide the batch's own.
        with suppress(Exception):
            self.close()
