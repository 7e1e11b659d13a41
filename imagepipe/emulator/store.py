"""Persistent state: one SQLite row per resource (JSON) and the operation journal.

SQLite (WAL) is the durable copy; an in-memory copy indexed by scope and type keeps
the per-request work small. One lock guards both, so concurrent requests never see
or write a half-applied change.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from imagepipe.emulator import ids
from imagepipe.emulator.statedir import open_private

DB_FILE = "emulator.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
    key TEXT PRIMARY KEY,
    scope TEXT NOT NULL,
    type TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS resources_scope_type ON resources (scope, type);
CREATE TABLE IF NOT EXISTS operations (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL
);
"""


def _scope_of(resource_id: str) -> str:
    """The key of what directly contains a resource: its parent resource or its group."""
    return ids.key(ids.parent_of(resource_id))


class Store:
    def __init__(self, state_dir: Path, db_name: str = DB_FILE) -> None:
        self.path = state_dir / db_name
        self.lock = threading.RLock()
        self._depth = 0  # nesting of transaction()
        os.close(open_private(self.path))  # made 0600 before SQLite opens it (its -wal/-shm inherit the mode)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._docs: dict[str, dict] = {}
        self._by_scope: dict[tuple[str, str], set[str]] = defaultdict(set)
        self._by_group: dict[str, set[str]] = defaultdict(set)  # group key -> every resource inside
        self.operations: dict[str, dict] = {}
        self._load()

    # resources ---------------------------------------------------------------------------------
    def get(self, resource_id: str) -> dict | None:
        return self._docs.get(ids.key(resource_id))

    def put(self, doc: dict) -> None:
        k = ids.key(doc["id"])
        scope = _scope_of(doc["id"])
        type_key = doc["type"].lower()
        with self.lock:
            self._index(k, doc, scope, type_key)
            self._db.execute(
                "INSERT OR REPLACE INTO resources (key, scope, type, doc) VALUES (?, ?, ?, ?)",
                (k, scope, type_key, json.dumps(doc)),
            )

    def delete(self, resource_id: str) -> None:
        k = ids.key(resource_id)
        with self.lock:
            doc = self._docs.pop(k, None)
            if doc is None:
                return
            self._by_scope[(_scope_of(doc["id"]), doc["type"].lower())].discard(k)
            self._group_set(doc["id"]).discard(k)
            self._db.execute("DELETE FROM resources WHERE key = ?", (k,))

    def children(self, parent_id: str, type_name: str) -> list[dict]:
        keys = self._by_scope.get((ids.key(parent_id), type_name.lower()), ())
        return [self._docs[k] for k in sorted(keys)]

    def in_group(self, subscription: str, group: str) -> list[dict]:
        keys = self._by_group.get(ids.key(ids.group_id(subscription, group)), ())
        return [self._docs[k] for k in sorted(keys)]

    def all_of_type(self, subscription: str, type_name: str) -> list[dict]:
        prefix = f"/subscriptions/{subscription}/".lower()
        type_key = type_name.lower()
        return [
            self._docs[k]
            for (scope, t), keys in self._by_scope.items()
            if t == type_key and scope.startswith(prefix)
            for k in sorted(keys)
        ]

    def all_resources(self, subscription: str) -> list[dict]:
        prefix = f"/subscriptions/{subscription}/".lower()
        return [doc for k, doc in sorted(self._docs.items()) if k.startswith(prefix)]

    def count_by_type(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for doc in self._docs.values():
            counts[doc["type"]] += 1
        return dict(counts)

    # operations --------------------------------------------------------------------------------
    def put_operation(self, op: dict) -> None:
        with self.lock:
            self.operations[op["id"]] = op
            self._db.execute(
                "INSERT OR REPLACE INTO operations (id, doc) VALUES (?, ?)", (op["id"], json.dumps(op))
            )

    # whole state -------------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes into one SQLite transaction: all of them persisted, or none and none visible.

        Nested uses join the outermost one. When it fails, or its COMMIT does (a full disk), SQLite
        rolls back and the in-memory view is reloaded from the file, so a write that was not
        persisted is never served.
        """
        with self.lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._db.execute("BEGIN")
            self._depth = 1
            try:
                yield
                self._db.execute("COMMIT")
            except BaseException:
                self._roll_back()
                raise
            finally:
                self._depth = 0

    def _roll_back(self) -> None:
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")
        self._docs.clear()
        self._by_scope.clear()
        self._by_group.clear()
        self.operations.clear()
        self._load()

    def cap_pages(self, pages: int) -> None:
        """Let the file grow to `pages` pages at most (SQLite's own "disk is full"), to test a full disk."""
        with self.lock:
            self._db.execute(f"PRAGMA max_page_count = {int(pages)}")

    def page_count(self) -> int:
        with self.lock:
            return int(self._db.execute("PRAGMA page_count").fetchone()[0])

    def reset(self) -> None:
        with self.lock:
            self._db.execute("DELETE FROM resources")
            self._db.execute("DELETE FROM operations")
            self._docs.clear()
            self._by_scope.clear()
            self._by_group.clear()
            self.operations.clear()

    def close(self) -> None:
        with self.lock:
            self._db.close()

    def _load(self) -> None:
        for k, scope, type_key, text in self._db.execute("SELECT key, scope, type, doc FROM resources"):
            self._index(k, json.loads(text), scope, type_key)
        for (text,) in self._db.execute("SELECT doc FROM operations"):
            op = json.loads(text)
            self.operations[op["id"]] = op

    def _index(self, k: str, doc: dict, scope: str, type_key: str) -> None:
        self._docs[k] = doc
        self._by_scope[(scope, type_key)].add(k)
        self._group_set(doc["id"]).add(k)

    def _group_set(self, resource_id: str) -> set[str]:
        parts = ids.key(resource_id).strip("/").split("/")
        if len(parts) <= 4:  # the group itself is not "inside" the group
            return set()
        return self._by_group["/" + "/".join(parts[:4])]
