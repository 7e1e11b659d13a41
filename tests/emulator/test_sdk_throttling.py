"""ARM's subscription token buckets: 429 with Retry-After, and the SDK's default retry policy recovering."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from imagepipe.emulator import start_emulator

from .helpers import API, Arm, bearer_token, make_clients, stats, unique


@pytest.fixture(scope="module")
def throttled(tmp_path_factory: pytest.TempPathFactory) -> Any:
    # Writes refill at 10/s x speed: at speed 2 (20/s) a burst of 300 outruns the refill even on a
    # busy machine, and the writes over the bucket's 200 wait a few seconds.
    with start_emulator(tmp_path_factory.mktemp("throttled"), speed=2.0, throttling=True) as em:
        yield em


def test_every_answer_carries_the_remaining_budget(throttled: Any) -> None:
    clients = make_clients(throttled)
    arm = Arm(throttled, bearer_token(clients.credential))
    groups = f"/subscriptions/{throttled.subscription_id}/resourcegroups"
    read = arm.request("GET", groups, api_version=API["resources"])
    assert read.status_code == 200
    assert int(read.headers["x-ms-ratelimit-remaining-subscription-reads"]) >= 0
    write = arm.request(
        "PUT", f"{groups}/{unique('rg')}", body={"location": "eastus"}, api_version=API["resources"]
    )
    assert write.status_code in {200, 201, 429}
    assert int(write.headers["x-ms-ratelimit-remaining-subscription-writes"]) >= 0
    delete = arm.request("DELETE", f"{groups}/{unique('absent')}", api_version=API["resources"])
    assert delete.status_code in {404, 429}  # ARM: deleting a missing resource group is a 404
    assert int(delete.headers["x-ms-ratelimit-remaining-subscription-deletes"]) >= 0


@pytest.mark.slow  # in CI's slow suite: the default run stays under 5 minutes
def test_a_burst_of_300_writes_is_throttled_and_the_sdk_recovers(throttled: Any) -> None:
    clients = make_clients(throttled)  # azure-core's default RetryPolicy
    statuses: list[int] = []
    retry_after: list[str] = []

    def record(response: Any) -> None:
        http = response.http_response
        statuses.append(http.status_code)
        if http.status_code == 429:
            retry_after.append(http.headers.get("Retry-After", ""))

    names = [unique("burst") for _ in range(300)]

    def write(name: str) -> str:
        return clients.resource.resource_groups.create_or_update(
            name, {"location": "eastus"}, raw_response_hook=record
        ).name

    before = stats(throttled)["throttled"]
    with ThreadPoolExecutor(max_workers=8) as pool:
        created = list(pool.map(write, names))
    assert created == names
    assert statuses.count(429) > 0
    assert all(value and float(value) > 0 for value in retry_after)
    assert stats(throttled)["throttled"] - before == statuses.count(429)
    listed = {group.name for group in clients.resource.resource_groups.list()}
    assert set(names) <= listed


def test_a_throttled_answer_is_arms(throttled: Any) -> None:
    clients = make_clients(throttled)
    arm = Arm(throttled, bearer_token(clients.credential))
    groups = f"/subscriptions/{throttled.subscription_id}/resourcegroups"

    def write(_: int) -> Any:
        return arm.request(
            "PUT", f"{groups}/{unique('raw')}", body={"location": "eastus"}, api_version=API["resources"]
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(write, range(400)))
    throttled_answers = [a for a in answers if a.status_code == 429]
    assert throttled_answers
    first = throttled_answers[0]
    # Retry-After in whole seconds (async-api-reference.md), the emulator's exact delay in ms.
    assert first.headers["Retry-After"].isdigit() and int(first.headers["Retry-After"]) >= 1
    assert int(first.headers["retry-after-ms"]) >= 1
    assert first.json()["error"]["code"] in {"TooManyRequests", "SubscriptionRequestsThrottled"}
    assert first.headers["x-ms-ratelimit-remaining-subscription-writes"] == "0"
