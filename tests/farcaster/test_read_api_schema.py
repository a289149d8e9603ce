"""Property-based: schemathesis drives every read API operation from the served OpenAPI document
over an indexed network; no 5xx, every answer matches the document, invalid input is refused."""
from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from simulators.hub.testing import running_hub
from tests.analysis.conftest import running_api

from .helpers import make_indexer

EXAMPLES_PER_OPERATION_AND_MODE = 8


def _exercise(operation: Any, mode: GenerationMode) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES_PER_OPERATION_AND_MODE, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        # Random fids and hashes are mostly unknown: a 404 for a schema-valid request is right.
        case.call_and_validate(excluded_checks=[schemathesis.checks.positive_data_acceptance])

    run()


def test_read_api_honours_its_openapi_document(engine, cache_redis):
    with running_hub(num_fids=12, seed=3) as hub:
        ix, work = make_indexer(engine, cache_redis, hub.url)
        ix.add_target(2, root=True)
        work.drain(ix)
    with running_api(farcaster_api_rate_limit_per_minute=0, farcaster_api_cache_ttl_seconds=0) as url:
        schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
        operations = [op for op in (r.ok() for r in schema.get_all_operations()) if op.path.startswith("/v1/farcaster/")]
        assert len(operations) == 13
        for operation in operations:
            for mode in GenerationMode:
                _exercise(operation, mode)
