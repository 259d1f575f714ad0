"""Fixtures for the model adapters: importable fake models, toy data and a real HTTP server."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

from tests.unit.models.fake_endpoint import FakeEndpoint, Handler

HERE = Path(__file__).parent


@pytest.fixture
def fake_models(monkeypatch: pytest.MonkeyPatch) -> str:
    """Make ``fake_platform_models`` importable; returns the module name."""
    monkeypatch.syspath_prepend(str(HERE))
    return "fake_platform_models"


@pytest.fixture
def posts() -> pd.DataFrame:
    """A small moderation test set, like a user's: text, a group column and a score column."""
    return pd.DataFrame(
        {
            "text": [
                "you are an idiot",
                "lovely weather",
                "I hate this",
                "see you soon",
                "stupid take",
                "thanks!",
                "nice goal",
                "great game",
            ],
            "language": ["en", "en", "en", "en", "en", "en", "en", "en"],
            "p": [0.9, 0.1, 0.8, 0.2, 0.7, 0.05, 0.3, 0.15],
        }
    )


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], FakeEndpoint]]:
    """Start fake endpoints answering with a given function; all are shut down afterwards."""
    started: list[FakeEndpoint] = []

    def start(handler: Handler) -> FakeEndpoint:
        started.append(FakeEndpoint(handler))
        return started[-1]

    yield start
    for endpoint in started:
        endpoint.close()


@pytest.fixture
def closed_port_url() -> str:
    """A URL on a local port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/score"
