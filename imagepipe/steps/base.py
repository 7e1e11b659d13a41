"""The step handler contract: observe -> compare (planning), then act -> verify (applying).

``evaluate`` observes through an Observer (a batched snapshot when planning, live
GETs when applying) and compares with the desired state; it returns an Evaluation
holding the Change plus what ``act`` needs. Planning is evaluate alone.
"""

from __future__ import annotations

from typing import Any

from imagepipe import vocabulary as r
from imagepipe.graph.step import Step
from imagepipe.steps.context import Context
from imagepipe.steps.evaluation import Evaluation, change_of
from imagepipe.steps.port import Observer, Pending, Provider
from imagepipe.steps.waits import settle


class Handler:
    """Base of every step handler."""

    def evaluate(self, step: Step, ctx: Context, obs: Observer) -> Evaluation:
        raise NotImplementedError

    def act(self, step: Step, ev: Evaluation, ctx: Context, azure: Provider, obs: Observer) -> Pending | None:
        """Make the change; a create that a watcher follows is handed back (Pending) unfinished."""
        raise NotImplementedError

    def done_message(self, action: str) -> str | None:
        """What the progress says when the step converged after ``action`` (None: the default)."""
        return None

    @staticmethod
    def change(
        step: Step,
        action: str,
        reason: str,
        desired: r.Record | None = None,
        observed: r.Record | None = None,
        resource_id: str | None = None,
        **extra: Any,
    ) -> Evaluation:
        return change_of(step, action, reason, desired, observed, resource_id, **extra)


class ResourceHandler(Handler):
    """Create / replace / update / wait for one resource whose desired record evaluate built."""

    label = "resource"  # how reasons name what the handler makes

    def act(self, step: Step, ev: Evaluation, ctx: Context, azure: Provider, obs: Observer) -> Pending | None:
        desired = ev.desired
        assert desired is not None
        type_, rg, name = desired["type"], desired["resource_group"], desired["name"]
        if ev.extra.get("wait"):
            settle(azure, type_, rg, name, step.address)
            return None  # the executor evaluates again: the settled state decides what is left
        action = ev.change.action
        if action == "replace":
            self.delete(azure, ev.observed or desired)
            action = "create"
        if action == "create":
            return self.create(self.request(desired, ev, ctx, azure, obs), azure)
        if action == "update":
            self.update(desired, ev, azure)
        return None

    def request(
        self, desired: r.Record, ev: Evaluation, ctx: Context, azure: Provider, obs: Observer
    ) -> r.Record:
        return desired

    def create(self, desired: r.Record, azure: Provider) -> Pending | None:
        azure.create(desired).wait()
        return None

    def update(self, desired: r.Record, ev: Evaluation, azure: Provider) -> None:
        azure.create(desired).wait()

    def delete(self, azure: Provider, record: r.Record) -> None:
        azure.delete(record["type"], record["resource_group"], record["name"]).wait()
