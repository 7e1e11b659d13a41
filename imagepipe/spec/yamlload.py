"""Read one YAML file into documents that remember where every node came from.

PyYAML composes a node tree that carries start marks; we convert it to plain
data ourselves so that each value (and each mapping key) keeps its
``line:col``. Everything that can go wrong with a file (unreadable, binary,
not UTF-8, a syntax error, an alias bomb, an empty file) becomes one located
Diagnostic; nothing here raises.
"""

from __future__ import annotations

import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from imagepipe.errors import Diagnostic, Location, Note, error
from imagepipe.spec.budget import SetBudget
from imagepipe.spec.suggest import printable

try:  # libyaml is much faster; the pure-Python composer gives the same marks
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

MAX_FILE_BYTES = 4 * 1024 * 1024
# Bounds the work of expanding aliases ("billion laughs") and of deep nesting.
MAX_NODES_PER_DOCUMENT = 200_000
MAX_DEPTH = 64

PathKey = tuple[str | int, ...]

_TAG = "tag:yaml.org,2002:"
_PLAIN_TAGS = {f"{_TAG}{name}" for name in ("str", "timestamp", "binary", "merge", "value")}


@dataclass
class RawDocument:
    """One YAML document as plain data, with the position of every node."""

    file: str  # the path as shown in diagnostics
    path: Path  # the file on disk
    index: int  # 0-based position of the document in its file
    data: Any
    positions: dict[PathKey, Location] = field(default_factory=dict)
    key_positions: dict[PathKey, Location] = field(default_factory=dict)

    def where(self, path: PathKey) -> Location:
        """The position of the value at ``path``, or of its nearest ancestor."""
        path = tuple(path)
        while path:
            if path in self.positions:
                return self.positions[path]
            path = path[:-1]
        return self.positions.get((), Location(self.file))

    def key_where(self, path: PathKey) -> Location:
        """The position of the key that holds ``path`` (``spec:``), else of its value."""
        return self.key_positions.get(tuple(path)) or self.where(path)

    def get(self, path: PathKey, default: Any = None) -> Any:
        value = self.data
        for part in path:
            try:
                value = value[part]
            except (KeyError, IndexError, TypeError):
                return default
        return value

    def has(self, path: PathKey) -> bool:
        marker = object()
        return self.get(path, marker) is not marker


@dataclass
class FileLoad:
    documents: list[RawDocument]
    diagnostics: list[Diagnostic]


class _Refused(Exception):
    def __init__(self, message: str, node: Node | None):
        super().__init__(message)
        self.message = message
        self.node = node


def _tag(tag: str) -> str:
    return printable("!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag, 60)


def _location(file: str, mark: Any) -> Location:
    if mark is None:
        return Location(file)
    return Location(file, mark.line + 1, mark.column + 1)


def _offset_location(file: str, text: bytes, offset: int) -> Location:
    before = text[:offset]
    line = before.count(b"\n") + 1
    col = offset - (before.rfind(b"\n") + 1) + 1
    return Location(file, line, col)


# Errors found inside a construct that never ended: reported where it starts, since PyYAML
# notices them only later (an unclosed quote at the end of the file).
_UNCLOSED_CONTEXTS = ("while scanning ", "while parsing a flow sequence", "while parsing a flow mapping")


def _syntax_error(file: str, exc: yaml.MarkedYAMLError) -> Diagnostic:
    """Located where the unclosed construct starts, with where PyYAML noticed it as a note."""
    message = exc.problem or "invalid YAML"
    if exc.context:
        message = f"{message} ({exc.context})"
    noticed = _location(file, exc.problem_mark or exc.context_mark)
    unclosed = exc.context_mark is not None and (exc.context or "").startswith(_UNCLOSED_CONTEXTS)
    start = _location(file, exc.context_mark) if unclosed else noticed
    notes = (Note("noticed here", noticed),) if start != noticed else ()
    return error(f"YAML syntax error: {message}", start, notes=notes)


def read_text(path: Path, file: str) -> tuple[str | None, Diagnostic | None]:
    """The file's text, or the one reason it cannot be used."""
    try:
        status = path.stat()
        if not stat.S_ISREG(status.st_mode):  # a FIFO or a device would block or never end
            return None, error("not a regular file", Location(file))
        size = status.st_size
        if size > MAX_FILE_BYTES:
            return None, error(
                f"file is too large for a spec ({size} bytes; limit {MAX_FILE_BYTES})", Location(file)
            )
        raw = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        if getattr(exc, "errno", None) == 40:  # ELOOP
            reason = "symlink loop"
        return None, error(f"cannot read file: {reason}", Location(file))
    nul = raw.find(b"\x00")
    if nul >= 0:
        return None, error("binary file, not YAML text", _offset_location(file, raw, nul))
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        return None, error(
            f"not UTF-8 text (invalid byte 0x{raw[exc.start]:02x})", _offset_location(file, raw, exc.start)
        )


def load_file(path: Path, file: str, budget: SetBudget | None = None) -> FileLoad:
    """Every document of one YAML file; problems become diagnostics.

    ``budget`` is shared by all files of one run, so their sum stays bounded.
    """
    budget = budget if budget is not None else SetBudget()
    refused_file = budget.refuse_file(file)
    if refused_file is not None:
        return FileLoad([], [refused_file])
    text, problem = read_text(path, file)
    if problem is None and text is not None:
        problem = budget.take_bytes(file, len(text))
    if problem is not None or text is None:
        return FileLoad([], [problem] if problem else [])
    documents: list[RawDocument] = []
    diagnostics: list[Diagnostic] = []
    try:
        for index, node in enumerate(yaml.compose_all(text, Loader=_Loader)):
            if budget.spent is not None:  # already reported where it was passed
                break
            too_many = budget.take_document(_location(file, getattr(node, "start_mark", None)))
            if too_many is not None:
                diagnostics.append(too_many)
                break
            doc = RawDocument(file=file, path=path, index=index, data=None)
            converter = _Converter(doc, budget)
            try:
                doc.data = converter.convert(node)
            except _Refused as refused:
                diagnostics.append(
                    error(refused.message, _location(file, getattr(refused.node, "start_mark", None)))
                )
                continue
            finally:
                budget.take_nodes(converter.used)
            diagnostics.extend(converter.problems)
            documents.append(doc)
    except yaml.MarkedYAMLError as exc:
        diagnostics.append(_syntax_error(file, exc))
    except yaml.YAMLError as exc:
        position = getattr(exc, "position", None)
        location = (
            _offset_location(file, text.encode("utf-8"), position) if position is not None else Location(file)
        )
        reason = getattr(exc, "reason", None) or str(exc).splitlines()[0]
        diagnostics.append(error(f"YAML error: {reason}", location))
    except RecursionError:
        diagnostics.append(error(f"YAML nesting is deeper than {MAX_DEPTH} levels", Location(file)))
    if not documents and not diagnostics:
        diagnostics.append(error("empty file: no YAML documents", Location(file)))
    return FileLoad(documents, diagnostics)


_DECIMAL = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_YAML11_BOOLS = {"yes", "no", "on", "off", "y", "n"}


def yaml11_only(tag: str, value: str) -> str | None:
    """Why a scalar PyYAML resolves by YAML 1.1 rules is not a plain YAML 1.2 value, or None.

    YAML 1.1 reads ``017`` as 15 (YAML 1.2: 17), ``1_000`` as 1000, ``1:30`` as
    90 and ``0b11`` as 3 (YAML 1.2: text), ``yes``/``on`` as booleans (YAML 1.2:
    text); ``0x1f`` is a number in both but rarely meant. Each is refused with
    its readings, rather than silently taking one; only decimal integers,
    ``true``/``false`` and plain decimal floats are read as such.
    """
    shown = printable(value, 40)
    quote = f"or quote it ('{shown}') for text"
    if tag == f"{_TAG}int" and not _DECIMAL.fullmatch(value):
        reading = _yaml11_reading(tag, value)
        digits = value.lstrip("+-")
        if digits.startswith("0") and digits.isdigit():  # PyYAML resolves only 0[0-7_]+: octal
            decimal = f"{'-' if value.startswith('-') else ''}{int(digits)}"
            return f"'{shown}' is the octal number {reading} in YAML 1.1 but {decimal} in YAML 1.2; write {decimal}, {quote}"
        if digits.lower().startswith("0x"):
            return f"'{shown}' is the hexadecimal number {reading}; write {reading}, {quote}"
        return f"'{shown}' is the number {reading} in YAML 1.1 but text in YAML 1.2; write {reading}, {quote}"
    if tag == f"{_TAG}float" and ("_" in value or ":" in value):
        reading = _yaml11_reading(tag, value)
        return f"'{shown}' is the number {reading} in YAML 1.1 but text in YAML 1.2; write {reading}, {quote}"
    if tag == f"{_TAG}bool" and value.lower() in _YAML11_BOOLS:
        reading = "true" if value.lower() in ("yes", "on", "y") else "false"
        return (
            f"'{shown}' is the boolean {reading} in YAML 1.1 but text in YAML 1.2; write {reading}, {quote}"
        )
    return None


def _yaml11_reading(tag: str, value: str) -> str:
    node = ScalarNode(tag, value)
    try:
        if tag == f"{_TAG}int":
            return str(SafeConstructor().construct_yaml_int(node))
        return str(SafeConstructor().construct_yaml_float(node))
    except (ValueError, yaml.YAMLError):
        return "?"


class _Converter:
    """Node tree -> plain data, recording positions; refuses what specs never need."""

    _constructor = SafeConstructor()

    def __init__(self, doc: RawDocument, set_budget: SetBudget | None = None):
        self.doc = doc
        self.set_budget = set_budget if set_budget is not None else SetBudget()
        self.limit = self.set_budget.nodes_for_document(MAX_NODES_PER_DOCUMENT)
        self.used = 0
        # Located problems that do not stop the conversion (YAML 1.1-only scalars).
        self.problems: list[Diagnostic] = []

    def convert(self, node: Node, path: PathKey = (), depth: int = 0) -> Any:
        self.used += 1
        if self.used > self.limit:
            raise _Refused(self._too_many_nodes(), node)
        if depth > MAX_DEPTH:
            raise _Refused(f"YAML nesting is deeper than {MAX_DEPTH} levels", node)
        self.doc.positions[path] = _location(self.doc.file, node.start_mark)
        if isinstance(node, ScalarNode):
            return self._scalar(node)
        if isinstance(node, SequenceNode):
            if node.tag != f"{_TAG}seq":
                raise _Refused(f"unsupported YAML tag {_tag(node.tag)}", node)
            return [self.convert(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        if isinstance(node, MappingNode):
            if node.tag != f"{_TAG}map":
                raise _Refused(f"unsupported YAML tag {_tag(node.tag)}", node)
            return self._mapping(node, path, depth)
        raise _Refused("unsupported YAML node", node)  # pragma: no cover - PyYAML has no other kinds

    def _too_many_nodes(self) -> str:
        if self.set_budget.set_limited(MAX_NODES_PER_DOCUMENT):
            return f"too many YAML nodes: the spec files pass the limit of {self.set_budget.spend_nodes()}"
        return f"document is too large (more than {MAX_NODES_PER_DOCUMENT} nodes after aliases)"

    def _mapping(self, node: MappingNode, path: PathKey, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        first_seen: dict[str, Node] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise _Refused("mapping keys must be plain strings", key_node)
            key = str(key_node.value)
            if key in first_seen:
                line = first_seen[key].start_mark.line + 1
                raise _Refused(f"duplicate key '{printable(key)}' (first defined on line {line})", key_node)
            first_seen[key] = key_node
            self.doc.key_positions[(*path, key)] = _location(self.doc.file, key_node.start_mark)
            out[key] = self.convert(value_node, (*path, key), depth + 1)
        return out

    def _scalar(self, node: ScalarNode) -> Any:
        tag = node.tag
        if tag in _PLAIN_TAGS:
            return node.value
        ambiguous = yaml11_only(tag, node.value)
        if ambiguous:  # reported; the value is still read so the rest of the document is checked
            self.problems.append(error(ambiguous, _location(self.doc.file, node.start_mark)))
        try:
            if tag == f"{_TAG}int":
                return self._constructor.construct_yaml_int(node)
            if tag == f"{_TAG}float":
                return self._constructor.construct_yaml_float(node)
            if tag == f"{_TAG}bool":
                return self._constructor.construct_yaml_bool(node)
            if tag == f"{_TAG}null":
                return None
        except (ValueError, yaml.YAMLError):
            return node.value
        raise _Refused(f"unsupported YAML tag {_tag(tag)}", node)
