"""Writes slow down when ARM reports the subscription's write bucket running low."""

from __future__ import annotations

from types import SimpleNamespace

from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.transport import HttpRequest

from imagepipe.azure.target import WritePacer


def observe(pacer: WritePacer, headers: dict[str, str]) -> None:
    request = PipelineRequest(HttpRequest("PUT", "https://arm/x"), None)  # type: ignore[arg-type]
    pacer.on_response(request, PipelineResponse(request.http_request, SimpleNamespace(headers=headers), None))  # type: ignore[arg-type]


def test_no_wait_while_the_bucket_is_full_or_unknown() -> None:
    pacer = WritePacer(seconds_per_token=0.1)
    assert pacer.delay("PUT") == 0.0
    observe(pacer, {"x-ms-ratelimit-remaining-subscription-writes": "150"})
    assert pacer.delay("PUT") == 0.0


def test_writes_wait_more_as_the_bucket_empties_and_reads_never_wait() -> None:
    pacer = WritePacer(seconds_per_token=0.1)
    observe(pacer, {"x-ms-ratelimit-remaining-subscription-writes": "15"})
    some = pacer.delay("PUT")
    observe(pacer, {"x-ms-ratelimit-remaining-subscription-writes": "2"})
    more = pacer.delay("POST")
    assert 0 < some < more <= 2.0
    assert pacer.delay("GET") == 0.0
    assert pacer.delay("DELETE") == 0.0  # deletes have their own bucket


def test_deletes_follow_their_own_bucket() -> None:
    pacer = WritePacer(seconds_per_token=0.01)
    observe(pacer, {"x-ms-ratelimit-remaining-subscription-deletes": "0"})
    assert pacer.delay("DELETE") == 0.2
