"""Client-side pacing: imagepipe waits for Azure's budgets to refill instead of being throttled."""

from __future__ import annotations

from types import SimpleNamespace

from azure.core.pipeline import PipelineContext, PipelineRequest, PipelineResponse
from azure.core.pipeline.transport import HttpRequest

from imagepipe.azure.pacing import Pacer, parse_counts

VM = "https://arm/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def send(
    pacer: Pacer, method: str, url: str = "https://arm/subscriptions/s/resourcegroups/x"
) -> PipelineRequest:
    request = PipelineRequest(HttpRequest(method, url), PipelineContext(None))
    pacer.on_request(request)
    return request


def answer(pacer: Pacer, request: PipelineRequest, headers: dict[str, str], status: int = 200) -> None:
    http = SimpleNamespace(headers=headers, status_code=status)
    pacer.on_response(request, PipelineResponse(request.http_request, http, request.context))  # type: ignore[arg-type]


def test_a_burst_goes_at_once_until_the_reserve_then_at_the_refill_rate() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    for _ in range(190):
        send(pacer, "PUT")
    assert clock.now == 0.0  # the bucket's 200 tokens, less the reserve of 10, without waiting
    for _ in range(100):
        send(pacer, "PUT")
    assert 9.5 <= clock.now <= 10.5  # then ARM's 10 writes a second


def test_reads_writes_and_deletes_have_their_own_buckets() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    for method, count in (("PUT", 190), ("DELETE", 190), ("GET", 240)):
        for _ in range(count):
            send(pacer, method)
    assert clock.now == 0.0


def test_the_servers_count_corrects_the_copy_less_what_it_has_not_counted_yet() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    first = send(pacer, "POST")
    send(pacer, "POST")  # sent after the first: the first's count does not include it
    answer(pacer, first, {"x-ms-ratelimit-remaining-subscription-writes": "12"})  # others spent the rest
    send(pacer, "PATCH")  # 12 - 1 unanswered = 11: one more leaves the reserve of 10
    assert clock.now == 0.0
    send(pacer, "PUT")
    assert 0.05 <= clock.now <= 0.25  # waits for a token at 10 a second


def test_an_older_count_arriving_late_is_ignored() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    older, newer = send(pacer, "PUT"), send(pacer, "PUT")
    answer(pacer, newer, {"x-ms-ratelimit-remaining-subscription-writes": "12"})  # less the older: 11
    answer(pacer, older, {"x-ms-ratelimit-remaining-subscription-writes": "150"})
    send(pacer, "PUT")
    assert clock.now == 0.0
    send(pacer, "PUT")
    assert clock.now > 0.0  # paced on 12, not on the stale 150


def test_any_reported_policy_is_paced_per_resource_or_per_subscription() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    header = "x-ms-ratelimit-remaining-resource"
    first = send(pacer, "POST", VM + "a/start")
    # A policy name the pacer never heard of: counted per VM (name ends in Resource) and per region.
    answer(
        pacer,
        first,
        {header: "Microsoft.Compute/SomePolicyResource;3,Microsoft.Compute/SomePolicySubscription;900"},
    )
    for _ in range(2):
        send(pacer, "POST", VM + "a/start")
    assert clock.now == 0.0
    send(pacer, "POST", VM + "b/start")  # another VM: its own bucket, assumed as large (4)
    assert clock.now == 0.0
    send(pacer, "POST", VM + "a/start")  # VM a is down to its reserve of 1: wait for its refill
    assert clock.now > 1.0


def test_headers_are_read_generically() -> None:
    headers = {
        "x-ms-ratelimit-remaining-subscription-writes": "199",
        "x-ms-ratelimit-remaining-resource": "Microsoft.Compute/A3Min;10, Microsoft.Compute/A30Min;100",
        "x-ms-ratelimit-remaining-tenant-reads": "not a number",
        "content-type": "application/json",
    }
    assert parse_counts(headers) == [
        ("subscription-writes", 199),
        ("Microsoft.Compute/A3Min", 10),
        ("Microsoft.Compute/A30Min", 100),
    ]
