from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from audit.exceptions import ModelError
from audit.models import HttpModel, load_model, score_dataframe
from tests.unit.models.fake_endpoint import Answer, FakeEndpoint, Handler

Serve = Callable[[Handler], FakeEndpoint]
FAST = {"timeout": 2.0, "backoff": 0.01}


def keyword_endpoint(payload: dict[str, Any]) -> Answer:
    return 200, {"scores": [0.9 if "idiot" in t or "hate" in t else 0.1 for t in payload["texts"]]}


def test_texts_are_scored_in_order_across_concurrent_requests(serve: Serve) -> None:
    def slow_first(payload: dict[str, Any]) -> Answer:
        # earlier sub-batches answer last, so order must come from the client
        first = int(payload["texts"][0])
        time.sleep(0.02 * (5 - first // 2))
        return 200, {"scores": [int(t) / 100 for t in payload["texts"]]}

    endpoint = serve(slow_first)
    frame = pd.DataFrame({"text": [str(i) for i in range(10)]})
    model = HttpModel(endpoint.url, text_column="text", batch_size=2, concurrency=4, **FAST)

    scores = score_dataframe(model, frame)

    np.testing.assert_allclose(scores, np.arange(10) / 100)
    assert len(endpoint.requests) == 5
    assert endpoint.max_in_flight > 1


def test_records_are_sent_json_safe(serve: Serve) -> None:
    endpoint = serve(lambda payload: (200, {"scores": [0.5] * len(payload["records"])}))
    frame = pd.DataFrame(
        {
            "text": ["a", None],
            "likes": np.array([3, 4], dtype=np.int64),
            "score": [0.25, np.nan],
            "posted": pd.to_datetime(["2024-05-01", None]),
        }
    )

    load_model(endpoint.url, http_options=FAST).predict_scores(frame)

    assert endpoint.requests == [
        {
            "records": [
                {"text": "a", "likes": 3, "score": 0.25, "posted": "2024-05-01T00:00:00"},
                {"text": None, "likes": 4, "score": None, "posted": None},
            ]
        }
    ]


def test_server_errors_are_retried(serve: Serve, posts: pd.DataFrame) -> None:
    calls = iter(range(100))
    lock = threading.Lock()

    def flaky(payload: dict[str, Any]) -> Answer:
        with lock:
            n = next(calls)
        return (500, "overloaded") if n < 2 else keyword_endpoint(payload)

    endpoint = serve(flaky)
    model = HttpModel(endpoint.url, text_column="text", retries=3, **FAST)

    scores = model.predict_scores(posts)

    assert scores[:3].tolist() == [0.9, 0.1, 0.9]
    assert len(endpoint.requests) == 3


def test_persistent_server_error_names_status_and_body(serve: Serve, posts: pd.DataFrame) -> None:
    endpoint = serve(lambda payload: (500, "Internal Server Error: model shard 3 down" + "x" * 500))
    model = HttpModel(endpoint.url, text_column="text", retries=3, **FAST)

    with pytest.raises(ModelError) as info:
        model.predict_scores(posts)

    message = str(info.value)
    assert "HTTP 500" in message and "model shard 3 down" in message
    assert "after 3 attempts" in message
    assert "x" * 201 not in message
    assert len(endpoint.requests) == 3


def test_client_error_is_not_retried(serve: Serve, posts: pd.DataFrame) -> None:
    endpoint = serve(lambda payload: (404, "no such route"))
    model = HttpModel(endpoint.url, text_column="text", **FAST)

    with pytest.raises(ModelError, match=r"answered HTTP 404: 'no such route'"):
        model.predict_scores(posts)
    assert len(endpoint.requests) == 1


def test_unreachable_endpoint_fails_quickly(closed_port_url: str, posts: pd.DataFrame) -> None:
    model = HttpModel(closed_port_url, text_column="text", retries=3, **FAST)

    started = time.perf_counter()
    with pytest.raises(ModelError, match=rf"could not reach {closed_port_url} after 3 attempts"):
        model.predict_scores(posts)
    assert time.perf_counter() - started < 2


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ((200, "<html>oops</html>"), r"not JSON: '<html>oops</html>'"),
        ((200, {"probabilities": [0.1]}), r"expected \{\"scores\": \[\.\.\.\]\}"),
        ((200, {"scores": [0.1, 0.2]}), r"returned 2 scores for 8 rows"),
        ((200, {"scores": [0.1] * 5 + [None] + [0.1] * 2}), r"row 6: None is missing"),
    ],
)
def test_bad_body_is_a_model_error(
    serve: Serve, posts: pd.DataFrame, answer: Answer, message: str
) -> None:
    endpoint = serve(lambda payload: answer)
    model = HttpModel(endpoint.url, text_column="text", **FAST)

    with pytest.raises(ModelError, match=message):
        model.predict_scores(posts)


def test_bad_score_row_counts_across_sub_batches(serve: Serve, posts: pd.DataFrame) -> None:
    def bad_thanks(payload: dict[str, Any]) -> Answer:
        return 200, {"scores": [1.5 if t == "thanks!" else 0.5 for t in payload["texts"]]}

    model = HttpModel(serve(bad_thanks).url, text_column="text", batch_size=2, **FAST)

    with pytest.raises(ModelError, match=r"row 6: 1.5 is outside \[0, 1\]"):
        score_dataframe(model, posts, batch_size=4)


def test_slow_endpoint_times_out(serve: Serve, posts: pd.DataFrame) -> None:
    def slow(payload: dict[str, Any]) -> Answer:
        time.sleep(0.3)
        return keyword_endpoint(payload)

    model = HttpModel(serve(slow).url, text_column="text", timeout=0.05, retries=1, backoff=0)

    with pytest.raises(ModelError, match=r"after 1 attempts: no answer within 0.05 s"):
        model.predict_scores(posts)
