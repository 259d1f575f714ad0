"""The ``pii`` kind over :mod:`audit.pii`: ``scan_raw_records`` per unit, ``merge_partials`` over
the batches."""

from __future__ import annotations

import functools
import hashlib
from typing import Any

from audit.exceptions import ConfigError, DataError
from audit.pii._sampling import keep_object
from audit.pii._sources import ObjectInfo, object_records
from audit.scans._messages import Unit
from audit.scans._pii_outputs import _BatchOutputs, _object_name, _unit_name
from audit.scans._records import (
    ReadStats,
    _plan_source,
    _read_block,
    _sum_reads,
    open_unit,
    plan_units,
)
from audit.scans._requests import PiiScan
from audit.storage import Sources

_RANGE = "#bytes="


def _whole_objects(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The partials' objects with the byte ranges of a split object made one entry again.

    Its records and bytes are the ranges' sums; its hash, which cannot be that of the whole
    object (the ranges were read apart), is the SHA-256 of the ranges' own hashes.
    """
    out: list[dict[str, Any]] = []
    ranges: dict[str, list[dict[str, Any]]] = {}
    for o in objects:
        name, sep, span = str(o["name"]).rpartition(_RANGE)
        if not sep:
            out.append(o)
            continue
        if name not in ranges:
            ranges[name] = []
            out.append({"name": name, "format": o["format"], "_ranges": ranges[name]})
        ranges[name].append({**o, "span": span})
    for o in out:
        parts = o.pop("_ranges", None)
        if parts is None:
            continue
        parts.sort(key=lambda p: int(p["span"].partition("-")[0]))
        lines = "".join(f"{p['span']}\t{p['sha256']}\n" for p in parts)
        o.update(
            sha256=hashlib.sha256(lines.encode("utf-8")).hexdigest(),
            hash_of="byte ranges read apart: SHA-256 of one line 'first-last<TAB>sha256 of "
            "those bytes' per range, in order",
            bytes_read=sum(int(p["bytes_read"]) for p in parts),
            records_read=sum(int(p["records_read"]) for p in parts),
        )
    return out


class PiiJob:
    """The ``pii`` kind over :mod:`audit.pii`: ``scan_raw_records`` per unit, ``merge_partials``.

    Each unit is read by the CLI's reader and scanned by the CLI's scanner under the CLI's
    object name (with the byte range when the object was split): a whole object gives the
    records, indices, skip reasons and hashes ``socialaudit pii`` gives.

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
        total = pii.PartialScan()
        stats = ReadStats()
        outputs = _BatchOutputs.open(request, config, sources)
        try:
            for unit in units:
                total.objects_not_sampled += unit.not_sampled
                stats.objects += unit.start == 0  # an object split into ranges counts once
                obj = ObjectInfo(_unit_name(request.source, unit), unit.format, size=unit.size)
                with open_unit(unit, sources, max_record_bytes=config.max_record_bytes) as reader:
                    records = object_records(
                        reader,
                        obj,
                        sample=request.sample,
                        sample_name=_object_name(request.source, unit.uri),
                        tap=functools.partial(stats.tap, unit),
                    )
                    part = pii.scan_raw_records(
                        records,
                        objects=[obj],
                        text_field=request.text_field,
                        id_field=request.id_field,
                        config=config,
                        pool=self._pool(request),
                        findings=outputs.findings if outputs is not None else None,
                        redactor=(
                            outputs.redactor_for(request.source, unit)
                            if outputs is not None
                            else None
                        ),
                    )
                stats.bytes += obj.bytes_read
                if outputs is not None:
                    outputs.unit_done()
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
        parts = [dict(p["pii"], objects=[]) for p in partials]
        if parts:
            parts[0]["objects"] = _whole_objects([o for p in partials for o in p["pii"]["objects"]])
        doc = dict(
            self._pii().merge_partials(
                parts,
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
