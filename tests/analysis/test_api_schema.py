"""Property-based: schemathesis generates valid and invalid requests from the served OpenAPI document.

No request may get a 5xx, and every response must match the document (status
code, content type, headers, body schema); invalid input must be rejected.
(schemathesis' pytest plugin does not run on pytest 9, so the Hypothesis
strategies it builds per operation are driven directly.)
"""
from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from tests.analysis.conftest import TOKEN

EXAMPLES_PER_OPERATION_AND_MODE = 40


def _exercise(operation: Any, mode: GenerationMode) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES_PER_OPERATION_AND_MODE, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        case.call_and_validate(
            headers={"Authorization": f"Bearer {TOKEN}"},
            # The document cannot express every rule a valid-looking url must pass (host syntax, port
            # range, a public address), so some schema-valid bodies are rightly refused with 400.
            excluded_checks=[schemathesis.checks.positive_data_acceptance],
        )

    run()


def test_api_honours_its_openapi_document(api_url, db, stopped_analysis_worker):
    schema = schemathesis.openapi.from_url(f"{api_url}/openapi.json")
    operations = [op for op in (result.ok() for result in schema.get_all_operations())
                  if not op.path.startswith("/v1/farcaster/")]  # tests/farcaster/read_api has its own
    assert {op.label for op in operations} == {
        "POST /v1/analyze", "GET /v1/analyze/{jobId}", "GET /queue/health"}
    for operation in operations:
        for mode in GenerationMode:
            _exercise(operation, mode)
