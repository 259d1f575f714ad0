"""boto3 clients for the aws backend, and the error code of what they raise.

boto3 is imported inside :func:`aws_clients`, never at import: the API's cold start stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from audit.storage._settings import Settings


def aws_clients(settings: Settings) -> dict[str, Any]:
    """boto3 clients for S3, DynamoDB and SQS, pointed at ``settings.endpoint_url`` if set."""
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "max_attempts": 5},
        s3={"addressing_style": "path"} if settings.endpoint_url else None,
    )
    kw: dict[str, Any] = {"region_name": settings.region, "config": config}
    if settings.endpoint_url:
        kw["endpoint_url"] = settings.endpoint_url
    return {name: boto3.client(name, **kw) for name in ("s3", "dynamodb", "sqs")}  # type: ignore[call-overload]


def _error_code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
