"""Client-side pacing: imagepipe waits for ARM's token buckets to refill instead of being throttled."""

from __future__ import annotations

from types import SimpleNamespace

from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.transport import HttpRequest

from imagepipe.azure.target import WritePacer


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def answer(pacer: WritePacer, method: str, headers: dict[str, str]) -> None:
    request = PipelineRequest(HttpRequest(method, "https://arm/x"), None)  # type: ignore[arg-type]
    pacer.on_response(request, PipelineResponse(request.http_request, SimpleNamespace(headers=headers), None))  # type: ignore[arg-type]


def send(pacer: WritePacer, method: str) -> None:
    pacer.on_request(PipelineRequest(HttpRequest(method, "https://arm/x"), None))  # type: ignore[arg-type]


def test_a_burst_goes_at_once_until_the_reserve_then_at_the_refill_rate() -> None:
    clock = Clock()
    pacer = WritePacer(clock=clock, sleep=clock.sleep)
    for _ in range(200 - WritePacer.RESERVE):
        send(pacer, "PUT")
    assert clock.now == 0.0  # the bucket's 200 tokens, less the reserve, without waiting
    for _ in range(100):
        send(pacer, "PUT")
    assert 9.5 <= clock.now <= 10.5  # then ARM's 10 writes a second


def test_reads_writes_and_deletes_have_their_own_buckets() -> None:
    clock = Clock()
    pacer = WritePacer(clock=clock, sleep=clock.sleep)
    for _ in range(190):
        send(pacer, "PUT")
    for _ in range(190):
        send(pacer, "DELETE")
    for _ in range(240):
        send(pacer, "GET")
    assert clock.now == 0.0


def test_the_servers_count_corrects_the_local_copy() -> None:
    clock = Clock()
    pacer = WritePacer(clock=clock, sleep=clock.sleep)
    send(pacer, "POST")
    answer(pacer, "POST", {"x-ms-ratelimit-remaining-subscription-writes": "11"})  # another client spent them
    send(pacer, "PATCH")
    assert clock.now == 0.0
    send(pacer, "PUT")  # down to the reserve: waits for one token at 10 a second
    assert 0.05 <= clock.now <= 0.25


def test_a_faster_refill_is_learned_from_the_answers() -> None:
    clock = Clock()
    pacer = WritePacer(clock=clock, sleep=clock.sleep)
    remaining = 100.0
    for _ in range(50):  # the server refills 100 writes a second, ten times ARM's default
        send(pacer, "PUT")
        clock.now += 0.01
        remaining += 1.0 - 1.0
        answer(pacer, "PUT", {"x-ms-ratelimit-remaining-subscription-writes": str(int(remaining))})
    assert pacer.buckets["writes"].rate >= 90
