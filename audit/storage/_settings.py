"""Which backend to use and where its parts are: :class:`Settings`, from ``SOCIALAUDIT_*``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from audit.exceptions import ConfigError

ENV_BACKEND = "SOCIALAUDIT_BACKEND"
ENV_HOME = "SOCIALAUDIT_HOME"
ENV_WORKERS = "SOCIALAUDIT_WORKERS"
ENV_ENDPOINT = "SOCIALAUDIT_AWS_ENDPOINT_URL"
ENV_BUCKET = "SOCIALAUDIT_BUCKET"
ENV_TABLE = "SOCIALAUDIT_TABLE"
ENV_DISPATCH_QUEUE = "SOCIALAUDIT_DISPATCH_QUEUE_URL"
ENV_WORK_QUEUE = "SOCIALAUDIT_WORK_QUEUE_URL"
ENV_AGGREGATE_QUEUE = "SOCIALAUDIT_AGGREGATE_QUEUE_URL"
ENV_MAX_ATTEMPTS = "SOCIALAUDIT_MAX_ATTEMPTS"
ENV_BATCH_BYTES = "SOCIALAUDIT_BATCH_BYTES"


class Settings(BaseModel):
    """Which backend to use and where its parts are; see :meth:`from_env`.

    Parameters
    ----------
    backend
        ``local`` (folder + SQLite + worker processes) or ``aws`` (S3 + DynamoDB + SQS).
    home
        Local data folder (``SOCIALAUDIT_HOME``; default ``~/.socialaudit``).
    workers
        Local worker processes (``SOCIALAUDIT_WORKERS``; default: the CPU count).
    endpoint_url
        Endpoint for S3, DynamoDB and SQS, e.g. a moto_server (``SOCIALAUDIT_AWS_ENDPOINT_URL``).
    region
        AWS region (``AWS_REGION``, else ``AWS_DEFAULT_REGION``, else ``us-east-1``).
    bucket, table, dispatch_queue_url, work_queue_url, aggregate_queue_url
        The AWS resources ``template.yaml`` creates; required with ``backend="aws"``.
    max_attempts
        Deliveries of one message before it is given up (SQS ``maxReceiveCount``).
    batch_bytes
        Target input bytes per batch: the dispatcher batches by bytes, not by message count.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: Literal["local", "aws"] = "local"
    home: Path = Field(default_factory=lambda: Path.home() / ".socialaudit")
    workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1, le=256)
    endpoint_url: str | None = None
    region: str = "us-east-1"
    bucket: str | None = None
    table: str | None = None
    dispatch_queue_url: str | None = None
    work_queue_url: str | None = None
    aggregate_queue_url: str | None = None
    max_attempts: int = Field(default=3, ge=1, le=100)
    batch_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)

    @model_validator(mode="after")
    def _aws_complete(self) -> Settings:
        if self.backend == "aws":
            missing = [
                env
                for env, value in (
                    (ENV_BUCKET, self.bucket),
                    (ENV_TABLE, self.table),
                    (ENV_DISPATCH_QUEUE, self.dispatch_queue_url),
                    (ENV_WORK_QUEUE, self.work_queue_url),
                    (ENV_AGGREGATE_QUEUE, self.aggregate_queue_url),
                )
                if not value
            ]
            if missing:
                raise ValueError(f"the aws backend needs {', '.join(missing)}")
        return self

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``SOCIALAUDIT_*`` variables; keyword arguments win over them.

        Raises
        ------
        ConfigError
            A variable holds a value that cannot be used (named in the message).
        """
        env = os.environ if env is None else env
        names = {
            "backend": ENV_BACKEND,
            "home": ENV_HOME,
            "workers": ENV_WORKERS,
            "endpoint_url": ENV_ENDPOINT,
            "bucket": ENV_BUCKET,
            "table": ENV_TABLE,
            "dispatch_queue_url": ENV_DISPATCH_QUEUE,
            "work_queue_url": ENV_WORK_QUEUE,
            "aggregate_queue_url": ENV_AGGREGATE_QUEUE,
            "max_attempts": ENV_MAX_ATTEMPTS,
            "batch_bytes": ENV_BATCH_BYTES,
        }
        values: dict[str, Any] = {k: env[v] for k, v in names.items() if env.get(v)}
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
        if region:
            values["region"] = region
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls(**values)
        except ValidationError as exc:
            lines = []
            for err in exc.errors():
                key = str(err["loc"][0]) if err["loc"] else ""
                where = names.get(key, key)
                msg = err["msg"].removeprefix("Value error, ")
                lines.append(f"{where}: {msg}" if where else msg)
            raise ConfigError("settings: " + "; ".join(lines)) from None
