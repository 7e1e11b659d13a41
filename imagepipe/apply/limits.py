"""Concurrency limits beyond the thread pool: at most 20 VM creates in flight per
managed image (Azure fails the 21st) and a Deployment's own ``maxParallel``."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from imagepipe.graph.step import Step
from imagepipe.plan.context import Context

PER_IMAGE_LIMIT = 20


class ConcurrencyLimits:
    def __init__(self) -> None:
        self._semaphores: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()

    def _semaphore(self, key: str, limit: int) -> threading.BoundedSemaphore:
        with self._lock:
            if key not in self._semaphores:
                self._semaphores[key] = threading.BoundedSemaphore(limit)
            return self._semaphores[key]

    def keys(self, step: Step, ctx: Context) -> list[tuple[str, int]]:
        if not (step.document.startswith("Deployment/") and step.name == "vm"):
            return []
        from imagepipe.plan.handlers.naming import capture_image_id

        doc: Any = ctx.document(step.document)
        capture: Any = ctx.document(doc.image)
        keys = []
        if capture.gallery is not None:  # 20 per replica in the deployment's region
            region = doc.location_name.replace(" ", "").lower()
            replicas = next(
                (
                    t.replicas
                    for t in capture.gallery.target_regions
                    if t.name.replace(" ", "").lower() == region
                ),
                1,
            )
            image_id = capture_image_id(ctx, doc.image).lower()
            keys.append((f"gallery:{image_id}:{region}", PER_IMAGE_LIMIT * replicas))
        elif capture.image is not None and capture.type == "generalized":
            keys.append((f"image:{capture_image_id(ctx, doc.image).lower()}", PER_IMAGE_LIMIT))
        if isinstance(doc.max_parallel, int):
            keys.append((f"deployment:{doc.ref}", max(1, doc.max_parallel)))
        return keys

    @contextmanager
    def slot(self, handler: Any, step: Step, ctx: Context) -> Iterator[None]:
        with ExitStack() as stack:
            for key, limit in self.keys(step, ctx):
                semaphore = self._semaphore(key, limit)
                semaphore.acquire()
                stack.callback(semaphore.release)
            yield
