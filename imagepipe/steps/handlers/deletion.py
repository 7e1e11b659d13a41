"""An owned resource no step describes (``destroy``, ``apply --prune``): delete it, then verify
it is gone, through the same converge loop (and retries) as every other step."""

from __future__ import annotations

from imagepipe import vocabulary as r
from imagepipe.graph.step import Step
from imagepipe.steps.base import Handler
from imagepipe.steps.context import Context
from imagepipe.steps.evaluation import Evaluation
from imagepipe.steps.port import Observer, Provider
from imagepipe.steps.waits import delete_resource


class DeletionHandler(Handler):
    """One per deleted record: the plan saw it, so the first evaluation reads nothing."""

    def __init__(self, record: r.Record):
        self.record = record
        self.label = f"{r.short_type(record['type'])} {record['name']}"
        self.deleted = False

    def evaluate(self, step: Step, ctx: Context, obs: Observer) -> Evaluation:
        rec = self.record
        if not self.deleted:
            return self.change(step, "delete", f"delete {self.label}", observed=rec)
        if r.resource_type(rec["type"]) is None:  # a type the engine cannot read: its operation said
            return self.change(step, "no-op", f"deleted {self.label}")
        rg = rec["name"] if r.is_type(rec, r.RESOURCE_GROUP) else rec["resource_group"]
        left = obs.get(rec["type"], rg, rec["name"])
        if left is None:
            return self.change(step, "no-op", f"deleted {self.label}")
        return self.change(step, "delete", f"{self.label} still exists: delete it again", observed=left)

    def act(self, step: Step, ev: Evaluation, ctx: Context, azure: Provider, obs: Observer) -> None:
        delete_resource(azure, self.record)
        self.deleted = True

    def done_message(self, action: str) -> str | None:
        return f"deleted {self.label}"
