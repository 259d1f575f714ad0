"""Files a scan writes besides its result: the findings file and the redacted copies.

Both go to a local path or to S3 (written to a temporary file, uploaded when complete). The
findings file holds offsets, types and scores — never text. Redacted copies are rewritten by
presidio-anonymizer (``replace``, ``mask`` or ``hash``, from the PII config) in the format they
were read in; only records that were scanned are copied, so a record that could not be read
(and so not redacted) never reaches the copy.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from audit.exceptions import ConfigError
from audit.inputs import aws_client
from audit.pii._config import PiiConfig
from audit.pii._engine import Finding
from audit.pii._sources import ObjectInfo
from audit.records import get_path, set_path

__all__ = ["FindingsWriter", "Redactor"]


class _Target:
    """A local file, or an S3 object written through a temporary file."""

    def __init__(self, dest: str, s3_client: Any = None) -> None:
        self.dest = dest
        self.s3 = dest.startswith("s3://")
        self._client = s3_client
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None

    def local_path(self, relname: str) -> Path:
        if not self.s3:
            p = Path(self.dest) / relname if relname else Path(self.dest)
            p.parent.mkdir(parents=True, exist_ok=True)
            return p
        if self._tmpdir is None:
            self._tmpdir = tempfile.TemporaryDirectory(prefix="socialaudit-")
        p = Path(self._tmpdir.name) / (relname or "out")
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def commit(self, relname: str, local: Path) -> None:
        if not self.s3:
            return
        bucket, _, prefix = self.dest[5:].partition("/")
        key = "/".join(p for p in (prefix.rstrip("/"), relname) if p)
        client = aws_client("s3", self._client)
        client.upload_file(str(local), bucket, key)
        local.unlink(missing_ok=True)

    def cleanup(self) -> None:
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None


class FindingsWriter:
    """One JSON line per scanned record, with or without findings (Macie's per-object trail).

    ``{"id", "object", "record", "findings": [{"entity_type", "start", "end", "score"}],
    "types": {TYPE: {"count", "max_score", "severity"}}}``
    """

    def __init__(self, path: str, s3_client: Any = None) -> None:
        self.path = path
        if path.startswith("s3://"):
            bucket, _, key = path[5:].partition("/")
            if not key:
                raise ConfigError(f"--findings {path!r}: give a key, e.g. s3://bucket/f.jsonl")
            self._target = _Target(f"s3://{bucket}", s3_client)
            self._rel = key
        else:
            self._target = _Target(path)
            self._rel = ""
        self._local = self._target.local_path(self._rel)
        self._fh = open(self._local, "w", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def write(self, line: dict[str, Any]) -> None:
        self._fh.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()
            self._target.commit(self._rel, self._local)
            self._target.cleanup()


class _ObjectWriter:
    def __init__(self, path: Path, obj: ObjectInfo) -> None:
        self.path = path
        self.fmt = obj.fmt
        self.schema = obj.schema
        self._rows: list[dict[str, Any]] = []
        self._fh: Any = None
        self._csv: Any = None
        self._pq: Any = None

    def write(self, row: dict[str, Any]) -> None:
        if self.fmt in ("csv", "tsv"):
            if self._csv is None:
                self._fh = open(self.path, "w", encoding="utf-8", newline="")  # noqa: SIM115
                self._csv = csv.DictWriter(
                    self._fh,
                    fieldnames=list(row),
                    delimiter="\t" if self.fmt == "tsv" else ",",
                    extrasaction="ignore",
                )
                self._csv.writeheader()
            self._csv.writerow(row)
        elif self.fmt == "parquet" and self.schema is not None:
            self._rows.append(row)
            if len(self._rows) >= 1024:
                self._flush_parquet()
        else:
            if self._fh is None:
                self._fh = open(self.path, "w", encoding="utf-8")  # noqa: SIM115
            self._fh.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")

    def _flush_parquet(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._pq is None:
            self._pq = pq.ParquetWriter(self.path, self.schema)
        if self._rows:
            self._pq.write_table(pa.Table.from_pylist(self._rows, schema=self.schema))
            self._rows = []

    def close(self) -> None:
        if self.fmt == "parquet" and self.schema is not None:
            self._flush_parquet()
            if self._pq is not None:
                self._pq.close()
        elif self._fh is not None:
            self._fh.close()


class Redactor:
    """Writes redacted copies of scanned records, one output object per input object."""

    def __init__(self, config: PiiConfig, dest: str, s3_client: Any = None) -> None:
        from presidio_anonymizer import AnonymizerEngine
        from presidio_anonymizer.entities import OperatorConfig

        self.dest = dest
        self._target = _Target(dest, s3_client)
        self._engine = AnonymizerEngine()
        spec = config.redaction
        if spec.operator == "replace":
            op = OperatorConfig("replace")
        elif spec.operator == "mask":
            op = OperatorConfig(
                "mask", {"masking_char": spec.mask_char, "chars_to_mask": 10**6, "from_end": False}
            )
        else:
            params: dict[str, Any] = {"hash_type": "sha256"}
            if spec.salt_env:
                salt = os.environ.get(spec.salt_env)
                if not salt:
                    raise ConfigError(
                        f"redaction.salt_env names {spec.salt_env}, which is not set; set it "
                        "to a secret of at least 16 bytes, or remove salt_env"
                    )
                params["salt"] = salt
            op = OperatorConfig("hash", params)
        self._operators = {"DEFAULT": op}
        self._writers: dict[str, _ObjectWriter] = {}
        self._rels: dict[str, str] = {}

    def redact_text(self, text: str, findings: list[Finding]) -> str:
        """``text`` with every finding rewritten by the configured operator."""
        if not findings:
            return text
        from presidio_anonymizer.entities import RecognizerResult

        results = [RecognizerResult(f.entity_type, f.start, f.end, f.score) for f in findings]
        return self._engine.anonymize(text, results, operators=self._operators).text

    @staticmethod
    def _relname(obj: ObjectInfo) -> str:
        if obj.fmt == "dynamodb":
            return obj.name.replace("#", "_") + ".jsonl"
        return obj.name

    def write(
        self, obj: ObjectInfo, record: dict[str, Any], text_field: str, redacted: str
    ) -> None:
        """Write ``record`` with its text field replaced by ``redacted``."""
        w = self._writers.get(obj.name)
        if w is None:
            rel = self._relname(obj)
            w = _ObjectWriter(self._target.local_path(rel), obj)
            self._writers[obj.name] = w
            self._rels[obj.name] = rel
        row = json.loads(json.dumps(record, default=str)) if obj.fmt != "parquet" else record
        if isinstance(get_path(row, text_field), str):
            set_path(row, text_field, redacted)
        w.write(row)

    def finish(self, name: str) -> None:
        """Close (and upload) the copy of one object."""
        w = self._writers.pop(name, None)
        if w is not None:
            w.close()
            self._target.commit(self._rels.pop(name), w.path)

    def close(self) -> None:
        for name in list(self._writers):
            self.finish(name)
        self._target.cleanup()
