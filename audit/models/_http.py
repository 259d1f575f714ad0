"""The platform's model behind an HTTP endpoint."""

from __future__ import annotations

import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from audit.exceptions import ConfigError, ModelError
from audit.models._batch import records_of, texts_of
from audit.models._protocol import BadScoreError, check_scores, describe

if TYPE_CHECKING:
    import httpx
    import pandas as pd

__all__ = ["HttpModel"]

#: Longest wait a ``Retry-After`` header can impose, in seconds.
MAX_RETRY_AFTER = 30.0


class HttpModel:
    """POST rows to an endpoint that answers with their scores.

    The request body is ``{"texts": [...]}`` when ``text_column`` is given, else
    ``{"records": [...]}`` (one object per row; missing values are ``null``). The answer must be
    ``{"scores": [...]}``, one probability of the positive class per input, in order.

    Parameters
    ----------
    url
        ``http://`` or ``https://`` endpoint.
    text_column
        Send the texts of this column instead of whole rows.
    timeout
        Seconds to wait for one response.
    retries
        Attempts per request in all, the first included. Connection errors, timeouts, HTTP 429
        and 5xx are tried again after ``backoff * 2**k`` seconds (k = 0, 1, ...); any other
        4xx fails at once.
    backoff
        First wait between attempts, in seconds.
    concurrency
        Requests in flight at once.
    batch_size
        Rows per request.
    headers
        Extra request headers, e.g. ``{"Authorization": "Bearer ..."}``; never recorded.

    Notes
    -----
    ``identity`` records the URL without credentials or query string, so that API keys do not
    end up in audit results.

    Examples
    --------
    >>> model = HttpModel("http://127.0.0.1:8080/score", text_column="text")
    >>> model.identity
    {'kind': 'http', 'url': 'http://127.0.0.1:8080/score'}
    """

    def __init__(
        self,
        url: str,
        text_column: str | None = None,
        *,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.5,
        concurrency: int = 4,
        batch_size: int = 64,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            port = None
            parts = parts._replace(scheme="")  # a bad port: refused below
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"model URL {url!r} must be http(s)://host[:port]/path")
        for name, value, least in (("timeout", timeout, 0), ("backoff", backoff, 0)):
            if not value >= least:
                raise ConfigError(f"HTTP model {name} must be at least {least}, got {value}")
        for name, value in (
            ("retries", retries),
            ("concurrency", concurrency),
            ("batch_size", batch_size),
        ):
            if value < 1:
                raise ConfigError(f"HTTP model {name} must be at least 1, got {value}")
        self.url = url
        self.text_column = text_column
        self.timeout, self.retries, self.backoff = timeout, retries, backoff
        self.concurrency, self.batch_size = concurrency, batch_size
        self.headers = dict(headers or {})
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        netloc = host + (f":{port}" if port else "")
        self._public_url = urlunsplit((parts.scheme, netloc, parts.path, "", ""))

    @property
    def identity(self) -> dict[str, str]:
        return {"kind": "http", "url": self._public_url}

    def predict_scores(self, batch: pd.DataFrame) -> np.ndarray:
        import httpx

        key = "texts" if self.text_column else "records"
        rows = (
            texts_of(batch, self.text_column, describe(self.identity))
            if self.text_column
            else records_of(batch)
        )
        starts = range(0, len(rows), self.batch_size)
        with (
            httpx.Client(timeout=self.timeout, headers=self.headers) as client,
            ThreadPoolExecutor(max_workers=self.concurrency) as pool,
        ):
            futures = [
                pool.submit(self._post, client, key, rows[s : s + self.batch_size], s)
                for s in starts
            ]
            try:
                parts = [f.result() for f in futures]
            except BaseException:
                for f in futures:
                    f.cancel()
                raise
        return np.concatenate(parts) if parts else np.empty(0, dtype=float)

    def _post(self, client: httpx.Client, key: str, rows: list[Any], start: int) -> np.ndarray:
        import httpx

        where = self._public_url  # never self.url: it may hold credentials
        reason = ""
        for attempt in range(1, self.retries + 1):
            wait = self.backoff * 2 ** (attempt - 1)
            try:
                response = client.post(self.url, json={key: rows})
            except httpx.TimeoutException:
                reason = f"no answer within {self.timeout:g} s"
            except httpx.TransportError as exc:
                reason = str(exc) or type(exc).__name__
            else:
                status = response.status_code
                if response.is_success:
                    return self._parse(response, len(rows), start)
                body = response.text[:200]
                if status != 429 and status < 500:
                    raise ModelError(
                        f"model at {where} answered HTTP {status}: {body!r}. "
                        f'It must accept a POST of {{"{key}": [...]}}; check the '
                        "URL and --text."
                    )
                reason = f"HTTP {status}: {body!r}"
                wait = max(wait, _retry_after(response))
                if attempt == self.retries:
                    raise ModelError(
                        f"model at {where} kept failing: {reason} (after {self.retries} attempts)"
                    )
            if attempt < self.retries:
                time.sleep(wait)
        raise ModelError(
            f"could not reach {where} after {self.retries} attempts: {reason}. "
            "Check the service is running and the URL is right."
        )

    def _parse(self, response: httpx.Response, n: int, start: int) -> np.ndarray:
        who = describe(self.identity)
        expected = '{"scores": [...]}'
        try:
            body = response.json()
        except ValueError:
            raise ModelError(
                f"{who} answered with a body that is not JSON: "
                f"{response.text[:200]!r}; expected {expected}"
            ) from None
        if not isinstance(body, dict) or not isinstance(body.get("scores"), list):
            raise ModelError(f"{who} answered {str(body)[:200]!r}; expected {expected}")
        try:
            return check_scores(body["scores"], n, who)
        except BadScoreError as exc:
            raise exc.shifted(start) from None

    def __repr__(self) -> str:
        return f"HttpModel({self._public_url!r}, text_column={self.text_column!r})"


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(float(response.headers.get("Retry-After", 0)), MAX_RETRY_AFTER)
    except ValueError:  # an HTTP date; the backoff will do
        return 0.0
