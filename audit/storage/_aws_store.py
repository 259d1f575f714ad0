"""The aws store: scans in one DynamoDB table and blobs in one S3 bucket."""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Mapping
from typing import Any, Literal, cast

from audit.storage._aws_clients import _error_code
from audit.storage._store import (
    _ACTIVE_MESSAGE,
    _REUSED_KEY,
    ACTIVE_STATUSES,
    IDEMPOTENCY_TTL_S,
    IdempotencyConflictError,
    ScanActiveError,
    ScanFilter,
    ScanPage,
    ScanRecord,
    ScanStatus,
    ScanStore,
    _now_iso,
    decode_cursor,
    encode_cursor,
    page_limit,
    request_hash,
)

#: The table's index of scans newest first (``template.yaml``): every scan item carries
#: ``listing = "SCAN"`` (its partition) and is sorted by ``created_at``.
LISTING_INDEX = "by-created"
_LISTING = {"S": "SCAN"}


def _scan_key(scan_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"SCAN#{scan_id}"}, "sk": {"S": "META"}}


def _cancel_reasons(exc: Exception) -> list[str]:
    reasons = getattr(exc, "response", {}).get("CancellationReasons") or []
    return [str(r.get("Code", "")) for r in reasons]


class AwsStore(ScanStore):
    """Scans in one DynamoDB table (``pk``/``sk`` strings) and blobs in one S3 bucket.

    Items: ``SCAN#<id>/META`` (the scan, with ADD counters), ``SCAN#<id>/BATCH#<n>`` (one per
    counted batch), ``IDEMPOTENCY#<sha256(key)>/META`` (``Idempotency-Key`` → scan). A batch is
    counted by one transaction that puts its item only if absent *and* adds to the counters, so
    a redelivered batch can never be counted twice.

    Parameters
    ----------
    bucket, table
        Names of the bucket and table ``template.yaml`` creates.
    s3, dynamodb
        boto3 clients (injected, so tests and moto_server can supply their own).
    """

    def __init__(self, bucket: str, table: str, *, s3: Any, dynamodb: Any) -> None:
        self.bucket = bucket
        self.table = table
        self.s3 = s3
        self.ddb = dynamodb

    @staticmethod
    def _record(item: Mapping[str, Any]) -> ScanRecord:
        def s(name: str) -> str | None:
            v = item.get(name)
            return v["S"] if v and "S" in v else None

        def n(name: str) -> int | None:
            v = item.get(name)
            return int(v["N"]) if v and "N" in v else None

        summary = s("summary")
        return ScanRecord(
            id=str(s("scan_id")),
            kind=str(s("kind")),
            status=cast(ScanStatus, s("status")),
            request=json.loads(s("request") or "{}"),
            created_at=str(s("created_at")),
            updated_at=str(s("updated_at")),
            batches_total=n("batches_total"),
            batches_done=n("batches_done") or 0,
            batches_failed=n("batches_failed") or 0,
            records_done=n("records_done") or 0,
            summary=json.loads(summary) if summary else None,
            error=s("error"),
            result_key=s("result_key"),
        )

    def _transact(self, items: list[dict[str, Any]]) -> list[str] | None:
        """Run a transaction; ``None`` on success, else the cancellation reason codes.

        A ``TransactionConflict`` (another transaction touched the same item, e.g. a batch
        counter) is retried with jittered back-off; only condition failures are returned.
        """
        for attempt in range(12):
            try:
                self.ddb.transact_write_items(TransactItems=items)
                return None
            except Exception as exc:
                if _error_code(exc) != "TransactionCanceledException":
                    raise
                reasons = _cancel_reasons(exc)
                if "ConditionalCheckFailed" in reasons:
                    return reasons
                if attempt == 11:
                    raise
                time.sleep(random.uniform(0, min(1.0, 0.02 * 2**attempt)))
        raise AssertionError("unreachable")

    def create_scan(
        self, record: ScanRecord, idempotency_key: str | None = None
    ) -> tuple[ScanRecord, bool]:
        rhash = request_hash(record.request)
        scan_item = {
            **_scan_key(record.id),
            "scan_id": {"S": record.id},
            "kind": {"S": record.kind},
            "status": {"S": record.status},
            "request": {"S": json.dumps(record.request, sort_keys=True)},
            "created_at": {"S": record.created_at},
            "updated_at": {"S": record.updated_at},
            "batches_done": {"N": "0"},
            "batches_failed": {"N": "0"},
            "batches_finished": {"N": "0"},
            "records_done": {"N": "0"},
            "lease_until": {"N": "0"},
            "listing": _LISTING,
        }
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": scan_item,
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        ]
        key: dict[str, Any] | None = None
        if idempotency_key is not None:
            khash = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()
            key = {"pk": {"S": f"IDEMPOTENCY#{khash}"}, "sk": {"S": "META"}}
            scan_item["idempotency_pk"] = key["pk"]  # deleted with the scan
        for _ in range(20):
            now = int(time.time())
            if key is not None:
                items[1:] = [
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": {
                                **key,
                                "scan_id": {"S": record.id},
                                "request_hash": {"S": rhash},
                                "expiration": {"N": str(now + IDEMPOTENCY_TTL_S)},
                            },
                            # DynamoDB deletes expired items lazily: an expired one is absent.
                            "ConditionExpression": "attribute_not_exists(pk) OR expiration < :now",
                            "ExpressionAttributeValues": {":now": {"N": str(now)}},
                        }
                    }
                ]
            if self._transact(items) is None:
                return record, True
            if key is None:
                raise RuntimeError(f"scan id collision: {record.id}")
            got = self.ddb.get_item(TableName=self.table, Key=key, ConsistentRead=True)
            item = got.get("Item")
            if item is None or int(item["expiration"]["N"]) < now:
                continue  # the holder expired or vanished between our write and our read
            if item["request_hash"]["S"] != rhash:
                raise IdempotencyConflictError(_REUSED_KEY)
            existing = self.get_scan(item["scan_id"]["S"])
            if existing is not None:
                return existing, False
        raise RuntimeError("could not create the scan: the Idempotency-Key item kept changing")

    def get_scan(self, scan_id: str) -> ScanRecord | None:
        got = self.ddb.get_item(TableName=self.table, Key=_scan_key(scan_id), ConsistentRead=True)
        item = got.get("Item")
        return self._record(item) if item else None

    def _update(self, scan_id: str, **kw: Any) -> ScanRecord | None:
        try:
            out = self.ddb.update_item(
                TableName=self.table, Key=_scan_key(scan_id), ReturnValues="ALL_NEW", **kw
            )
        except Exception as exc:
            if _error_code(exc) == "ConditionalCheckFailedException":
                return None
            raise
        return self._record(out["Attributes"])

    def start_scan(self, scan_id: str, batches_total: int) -> ScanRecord | None:
        return self._update(
            scan_id,
            UpdateExpression="SET #s = :running, batches_total = :n, updated_at = :t",
            ConditionExpression="#s = :queued OR (#s = :running AND batches_total = :n)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":running": {"S": "running"},
                ":queued": {"S": "queued"},
                ":n": {"N": str(batches_total)},
                ":t": {"S": _now_iso()},
            },
        )

    def finish_batch(
        self, scan_id: str, batch_id: int, *, records: int, error: str | None = None
    ) -> tuple[bool, ScanRecord]:
        marker: dict[str, Any] = {
            "pk": {"S": f"SCAN#{scan_id}"},
            "sk": {"S": f"BATCH#{batch_id:08d}"},
            "records": {"N": str(records)},
        }
        if error is not None:
            marker["error"] = {"S": error[:2000]}
        column = "batches_done" if error is None else "batches_failed"
        reasons = self._transact(
            [
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": marker,
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": _scan_key(scan_id),
                        "UpdateExpression": f"ADD {column} :one, batches_finished :one, "
                        "records_done :r SET updated_at = :t",
                        "ConditionExpression": "attribute_exists(pk)",
                        "ExpressionAttributeValues": {
                            ":one": {"N": "1"},
                            ":r": {"N": str(records)},
                            ":t": {"S": _now_iso()},
                        },
                    }
                },
            ]
        )
        scan = self.get_scan(scan_id)
        if scan is None:
            raise KeyError(scan_id)
        return reasons is None, scan

    def batch_finished(self, scan_id: str, batch_id: int) -> bool:
        got = self.ddb.get_item(
            TableName=self.table,
            Key={"pk": {"S": f"SCAN#{scan_id}"}, "sk": {"S": f"BATCH#{batch_id:08d}"}},
            ConsistentRead=True,
            ProjectionExpression="pk",
        )
        return "Item" in got

    def batch_errors(self, scan_id: str) -> dict[int, str]:
        out: dict[int, str] = {}
        kw: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :b)",
            "FilterExpression": "attribute_exists(#e)",
            "ExpressionAttributeNames": {"#e": "error"},
            "ExpressionAttributeValues": {":pk": {"S": f"SCAN#{scan_id}"}, ":b": {"S": "BATCH#"}},
            "ConsistentRead": True,
        }
        while True:
            page = self.ddb.query(**kw)
            for item in page.get("Items", []):
                out[int(item["sk"]["S"].removeprefix("BATCH#"))] = item["error"]["S"]
            if "LastEvaluatedKey" not in page:
                return out
            kw["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def claim_aggregation(self, scan_id: str, lease_s: float) -> ScanRecord | None:
        now = time.time()
        return self._update(
            scan_id,
            UpdateExpression="SET lease_until = :until",
            ConditionExpression="#s = :running AND batches_finished >= batches_total "
            "AND lease_until < :now",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":running": {"S": "running"},
                ":until": {"N": repr(now + lease_s)},
                ":now": {"N": repr(now)},
            },
        )

    def release_aggregation(self, scan_id: str) -> None:
        self._update(
            scan_id,
            UpdateExpression="SET lease_until = :zero",
            ConditionExpression="#s = :running",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":zero": {"N": "0"}, ":running": {"S": "running"}},
        )

    def complete_scan(
        self,
        scan_id: str,
        *,
        status: Literal["succeeded", "failed"],
        summary: dict[str, Any] | None = None,
        error: str | None = None,
        result_key: str | None = None,
    ) -> bool:
        sets = ["#s = :status", "updated_at = :t", "lease_until = :zero"]
        names = {"#s": "status"}
        values: dict[str, Any] = {
            ":status": {"S": status},
            ":t": {"S": _now_iso()},
            ":zero": {"N": "0"},
            ":queued": {"S": "queued"},
            ":running": {"S": "running"},
        }
        for name, value in (
            ("summary", json.dumps(summary, sort_keys=True) if summary is not None else None),
            ("error", error),
            ("result_key", result_key),
        ):
            if value is not None:
                sets.append(f"#{name} = :{name}")  # ERROR is a DynamoDB reserved word
                values[f":{name}"] = {"S": value}
                names[f"#{name}"] = name
        done = self._update(
            scan_id,
            UpdateExpression="SET " + ", ".join(sets),
            ConditionExpression="#s IN (:queued, :running)",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
        return done is not None

    def put_blob(self, key: str, data: bytes) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=data)

    def get_blob(self, key: str) -> bytes:
        try:
            return cast(bytes, self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())
        except Exception as exc:
            if _error_code(exc) in ("NoSuchKey", "404"):
                raise KeyError(key) from None
            raise

    # -- listing, cancelling, deleting (issue 16) -------------------------------------------

    def list_scans(
        self, where: ScanFilter | None = None, *, limit: int = 50, cursor: str | None = None
    ) -> ScanPage:
        where = where or ScanFilter()
        limit = page_limit(limit)
        kw: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": LISTING_INDEX,
            "KeyConditionExpression": "listing = :l",
            "ExpressionAttributeValues": {":l": _LISTING},
            "ScanIndexForward": False,
            "Limit": max(limit + 1, 25),
        }
        filters, names = [], {}
        if where.kind is not None:
            filters.append("#k = :k")
            names["#k"] = "kind"
            kw["ExpressionAttributeValues"][":k"] = {"S": where.kind}
        if where.status is not None:
            filters.append("#s = :s")
            names["#s"] = "status"
            kw["ExpressionAttributeValues"][":s"] = {"S": where.status}
        if filters:
            kw["FilterExpression"] = " AND ".join(filters)
            kw["ExpressionAttributeNames"] = names
        if cursor:
            created_at, scan_id = decode_cursor(cursor)
            kw["ExclusiveStartKey"] = {
                **_scan_key(scan_id),
                "listing": _LISTING,
                "created_at": {"S": created_at},
            }
        kept: list[ScanRecord] = []
        while len(kept) <= limit:
            page = self.ddb.query(**kw)
            for item in page.get("Items", []):
                scan = self._record(item)
                if where.keeps(scan):  # the name filter is ScanFilter's own
                    kept.append(scan)
            if "LastEvaluatedKey" not in page:
                break
            kw["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        more = len(kept) > limit
        return ScanPage(kept[:limit], encode_cursor(kept[limit - 1]) if more else None)

    def cancel_scan(self, scan_id: str) -> ScanRecord | None:
        done = self._update(
            scan_id,
            UpdateExpression="SET #s = :cancelled, updated_at = :t, lease_until = :zero",
            ConditionExpression="#s IN (:queued, :running)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":cancelled": {"S": "cancelled"},
                ":t": {"S": _now_iso()},
                ":zero": {"N": "0"},
                ":queued": {"S": "queued"},
                ":running": {"S": "running"},
            },
        )
        return done if done is not None else self.get_scan(scan_id)

    def delete_scan(self, scan_id: str) -> bool:
        got = self.ddb.get_item(TableName=self.table, Key=_scan_key(scan_id), ConsistentRead=True)
        item = got.get("Item")
        if item is None:
            return False
        scan = self._record(item)
        if scan.status in ACTIVE_STATUSES:
            raise ScanActiveError(_ACTIVE_MESSAGE.format(scan_id, scan.status, scan_id))
        try:
            self.ddb.delete_item(
                TableName=self.table,
                Key=_scan_key(scan_id),
                ConditionExpression="NOT #s IN (:queued, :running)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":queued": {"S": "queued"},
                    ":running": {"S": "running"},
                },
            )
        except Exception as exc:
            if _error_code(exc) == "ConditionalCheckFailedException":
                raise ScanActiveError(_ACTIVE_MESSAGE.format(scan_id, "active", scan_id)) from None
            raise
        if "idempotency_pk" in item:
            key = {"pk": item["idempotency_pk"], "sk": {"S": "META"}}
            self.ddb.delete_item(TableName=self.table, Key=key)
        kw: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :b)",
            "ExpressionAttributeValues": {":pk": {"S": f"SCAN#{scan_id}"}, ":b": {"S": "BATCH#"}},
            "ProjectionExpression": "pk, sk",
        }
        while True:
            page = self.ddb.query(**kw)
            keys = [{"pk": i["pk"], "sk": i["sk"]} for i in page.get("Items", [])]
            for start in range(0, len(keys), 25):  # BatchWriteItem takes 25 at a time
                requests = [{"DeleteRequest": {"Key": k}} for k in keys[start : start + 25]]
                while requests:
                    out = self.ddb.batch_write_item(RequestItems={self.table: requests})
                    requests = out.get("UnprocessedItems", {}).get(self.table, [])
            if "LastEvaluatedKey" not in page:
                return True
            kw["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def delete_blobs(self, prefix: str) -> int:
        if not prefix.endswith("/"):
            raise ValueError(f"a blob prefix ends in '/': {prefix!r}")
        n = 0
        kw: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
        while True:
            page = self.s3.list_objects_v2(**kw)
            objects = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if objects:
                self.s3.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": objects, "Quiet": True}
                )
                n += len(objects)
            if not page.get("IsTruncated"):
                return n
            kw["ContinuationToken"] = page["NextContinuationToken"]
