"""The API function: the FastAPI app behind API Gateway (HTTP API, payload v2), via Mangum.

Cold start imports FastAPI, pydantic and :mod:`audit.scans` only — no audit engine (presidio,
spaCy, dlib, fairlearn, aif360); ``tests/functional/test_api.py`` checks it.
"""

from __future__ import annotations

from mangum import Mangum

from audit.api import app

# lifespan off: a Lambda has no shutdown hook, and the AWS backend holds no worker processes.
handler = Mangum(app, lifespan="off")
