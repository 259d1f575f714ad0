"""The ``pii`` kind over :mod:`audit.pii`: ``scan_records`` per unit, ``merge_partials`` over
the batches."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from audit.exceptions import ConfigError, DataError
from audit.pii._sampling import SampleSpec, keep_object, sample_records
from audit.scans._messages import Unit
from audit.scans._pii_outputs import _BatchOutputs, _is_range, _object_name
from audit.scans._records import (
    ReadStats,
    _plan_source,
    _read_block,
    _sum_reads,
    plan_units,
    read_records,
)
from audit.scans._requests import PiiScan
from audit.storage import Sources


def _sample_unit(
    records: Iterator[dict[str, Any]], stats: ReadStats, name: str, spec: SampleSpec
) -> Iterator[dict[str, Any]]:
    """One object's records as ``--sample records=N`` takes them.

    As in the CLI every record counts toward the window, readable or not; problems met
    outside the window are dropped from ``stats.skips`` (they were read, not scanned).
    """
    start = len(stats.skips)

    def items() -> Iterator[tuple[bool, Any]]:
        seen = start
        for record in records:
            while seen < len(stats.skips):  # problems read before this record come first
                yield False, stats.skips[seen]
                seen += 1
            yield True, record
        while seen < len(stats.skips):
            yield False, stats.skips[seen]
            seen += 1

    kept: list[tuple[str, int, str, str]] = []
    try:
        for is_record, item in sample_records(items(), name, spec):
            if is_record:
                yield item
            else:
                kept.append(item)
    finally:
        close = getattr(records, "close", None)
        if close is not None:
            close()  # stop reading the object: the window is full
    stats.skips[start:] = kept


class PiiJob:
    """The ``pii`` kind over :mod:`audit.pii`: ``scan_records`` per unit, ``merge_partials``.

    Each unit is scanned under its own object name (the URI, with the byte range when the
    object was split), so the result lists objects as a one-process scan does; lines this module
    could not read are added as the same skip reasons :mod:`audit.pii` uses.

    ``sample``: ``plan`` keeps the objects the CLI keeps (a seeded hash of the name, the same
    name as :func:`_object_name`) and, with ``records``, does not split an object into byte
    ranges; ``run`` takes each object's records as the CLI does. ``findings`` and ``redact_to``
    are written per batch by :class:`_BatchOutputs`.
    """

    _configs: dict[str | None, Any] = {}  # noqa: RUF012 - one loaded config per process
    _pools: dict[str | None, Any] = {}  # noqa: RUF012 - one detector per worker process

    @staticmethod
    def _pii() -> Any:
        try:
            import audit.pii as pii
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ConfigError(f"PII scanning is not installed here ({exc})") from None
        return pii

    def _config(self, request: PiiScan) -> Any:
        if request.config not in self._configs:
            self._configs[request.config] = self._pii().load_pii_config(request.config)
        return self._configs[request.config]

    def _pool(self, request: PiiScan) -> Any:
        # Loading the spaCy model costs seconds: once per process (a Lambda execution
        # environment, a local worker), not once per batch.
        if request.config not in self._pools:
            pool = self._pii().DetectorPool(self._config(request), workers=1)
            pool.__enter__()
            self._pools[request.config] = pool
        return self._pools[request.config]

    def prepare(self, request: PiiScan) -> None:
        self._config(request)

    def plan(
        self, request: PiiScan, sources: Sources, batch_bytes: int
    ) -> tuple[list[list[Unit]], list[dict[str, str]]]:
        spec = request.sample
        if spec is None:
            return _plan_source(request, sources, batch_bytes)
        objects = sources.list(request.source)
        kept = [o for o in objects if keep_object(_object_name(request.source, o.uri), spec)]
        # Records sampled per object need the whole object in one unit: no byte ranges.
        batches, skipped = plan_units(kept, batch_bytes, split=spec.records_per_object is None)
        if not batches:
            if kept or not objects:
                return _plan_source(request, sources, batch_bytes)  # says what is missing
            raise DataError(
                f"the sample (objects={spec.objects}, seed={spec.seed}) keeps none of the "
                f"{len(objects)} objects here: raise objects or change the seed",
                file=request.source,
            )
        first = batches[0][0]
        batches[0][0] = first.model_copy(update={"not_sampled": len(objects) - len(kept)})
        return batches, skipped

    def run(
        self, request: PiiScan, units: list[Unit], sources: Sources
    ) -> tuple[dict[str, Any], int]:
        pii = self._pii()
        config = self._config(request)
        spec = request.sample
        total = pii.PartialScan()
        stats = ReadStats()
        outputs = _BatchOutputs.open(request, config, sources)
        try:
            for unit in units:
                name = unit.uri
                if _is_range(unit):
                    name += f"#bytes={unit.start}-{(unit.end or unit.size) - 1}"
                total.objects_not_sampled += unit.not_sampled
                before = len(stats.skips)
                records = read_records([unit], sources, stats)
                if spec is not None and spec.records_per_object is not None:
                    records = _sample_unit(
                        records, stats, _object_name(request.source, unit.uri), spec
                    )
                part = pii.scan_records(
                    records,
                    text_field=request.text_field,
                    id_field=request.id_field,
                    config=config,
                    object_name=name,
                    pool=self._pool(request),
                    findings=outputs.findings if outputs is not None else None,
                    redactor=(
                        outputs.redactor_for(request.source, unit, stats)
                        if outputs is not None
                        else None
                    ),
                )
                if outputs is not None:
                    outputs.unit_done()
                for _uri, index, code, detail in stats.skips[before:]:
                    part.add_skip(name, index, code, detail, max_listed=config.max_skipped_listed)
                total.merge(
                    part,
                    samples_per_type=config.samples_per_type,
                    max_listed=config.max_skipped_listed,
                )
        except BaseException:
            if outputs is not None:
                outputs.abandon()
            raise
        partial = {"read": _read_block(stats), "pii": total.as_dict()}
        if outputs is not None:
            partial["outputs"] = outputs.close()
        return partial, stats.records

    def merge(self, request: PiiScan, partials: list[dict[str, Any]]) -> dict[str, Any]:
        outputs = [p.get("outputs") or {} for p in partials]
        first = outputs[0] if outputs else {}
        doc = dict(
            self._pii().merge_partials(
                [p["pii"] for p in partials],
                config=self._config(request),
                source=request.source,
                text_field=request.text_field,
                id_field=request.id_field,
                sample=request.sample,
                findings_path=first.get("findings"),
                redact_to=first.get("redacted_to"),
            )
        )
        if request.findings:
            # A folder of parts, part-00000001.jsonl ... one per batch, in batch order.
            doc["pii"]["findings_parts"] = sum(1 for o in outputs if o.get("findings_part"))
        if request.redact_to:
            doc["pii"]["redacted_objects"] = sum(len(o.get("redacted", [])) for o in outputs)
        read = _sum_reads(partials)
        doc["fanout"] = {
            "records_read": read["records"],
            "records_unreadable": read["unreadable"],
            "problems": read["problems"],
        }
        return doc
