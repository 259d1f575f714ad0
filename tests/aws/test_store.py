"""The scan-store contract (tests/unit/test_storage.py) on DynamoDB + S3 over moto_server."""

from __future__ import annotations

import pytest

from audit.storage import AwsStore, ScanStore, make_backend
from tests.aws.conftest import AwsEnv
from tests.unit.test_storage import StoreContract


class TestAwsStore(StoreContract):
    @pytest.fixture
    def store(self, aws: AwsEnv) -> ScanStore:
        store = make_backend(aws.settings, clients=aws.clients).store
        assert isinstance(store, AwsStore)
        return store
