"""A write the emulator could not persist (SQLite's own "database or disk is full", reached by
capping the file's pages) is answered 500 and never served: not before, not after a restart."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from .helpers import make_clients, unique

BIG_TAGS = {f"tag{i:02d}": "v" * 256 for i in range(50)}  # ~14 KB: more pages than the cap leaves


def test_an_unpersisted_write_is_answered_500_and_never_visible(
    start_other: Callable[..., Any], tmp_path: Path
) -> None:
    state = tmp_path / "state"
    state.mkdir()
    em = start_other(state)
    clients = make_clients(em, retry_total=0)  # the 500 is the point; no retries
    kept = unique("rg-kept")
    clients.resource.resource_groups.create_or_update(kept, {"location": "eastus"})
    lost = unique("rg-lost")

    em.backend.store.cap_pages(em.backend.store.page_count())
    with pytest.raises(HttpResponseError) as caught:
        clients.resource.resource_groups.create_or_update(lost, {"location": "eastus", "tags": BIG_TAGS})
    assert caught.value.status_code == 500
    assert not clients.resource.resource_groups.check_existence(lost)
    assert clients.resource.resource_groups.check_existence(kept)
    names = {group.name for group in clients.resource.resource_groups.list()}
    assert lost not in names and kept in names

    em.stop()
    again = make_clients(start_other(state))
    assert not again.resource.resource_groups.check_existence(lost)
    assert again.resource.resource_groups.check_existence(kept)
