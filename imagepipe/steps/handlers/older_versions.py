"""``gallery.olderVersions``: once the spec's version exists, the versions of the same definition
that this stack made and that are older than it are marked ``excludeFromLatest`` and given an
end-of-life date (each version's own published date plus the days the spec gives).

Runs right after ``gallery-version`` (not after the fleets): a VM or scale set created from the
definition without a version gets the new one as soon as it is published. Versions
``gallery.retain`` deletes in the same apply are left alone, versions another stack or a person
made are never changed, and the spec's own version, if this stack excluded it from latest
before (a rollback to it), is included again.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from imagepipe import vocabulary as r
from imagepipe.graph.step import Step
from imagepipe.spec.model import OlderVersions
from imagepipe.steps.base import Handler
from imagepipe.steps.context import Context
from imagepipe.steps.evaluation import Evaluation
from imagepipe.steps.facts import definition_versions, retention, version_number, version_of
from imagepipe.steps.port import Observer, Provider


def timestamp(value: str | None) -> datetime | None:
    """An ISO 8601 date-time as Azure writes it ("Z", up to 7 fractional digits), in UTC."""
    if not value:
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    if "." in text:  # Python reads at most 6 fractional digits
        head, _, tail = text.partition(".")
        digits = "".join(c for c in tail if c.isdigit())
        text = f"{head}.{digits[:6]}{tail[len(digits) :]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def end_of_life(version: r.Record, older: OlderVersions) -> datetime | None:
    """The date the spec gives a version: its published date plus ``endOfLifeAfter``."""
    published = timestamp(version["properties"].get("published"))
    if older.end_of_life_days is None or published is None:
        return None
    return published + timedelta(days=older.end_of_life_days)


def _marks(version: r.Record, older: OlderVersions) -> tuple[bool, datetime | None, list[str]]:
    """What the version should carry, and what of it is not there yet."""
    props = version["properties"]
    exclude = bool(props.get("exclude_from_latest")) or older.exclude_from_latest
    wanted = end_of_life(version, older)
    missing = []
    if exclude and not props.get("exclude_from_latest"):
        missing.append("excludeFromLatest")
    current = timestamp(props.get("end_of_life"))
    if wanted is not None and (current is None or abs((current - wanted).total_seconds()) >= 1):
        published = timestamp(props.get("published"))
        assert published is not None
        missing.append(
            f"end of life {wanted:%Y-%m-%d} (published {published:%Y-%m-%d} + {older.end_of_life_days} days)"
        )
    return exclude, wanted, missing


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class OlderVersionsHandler(Handler):
    def evaluate(self, step: Step, ctx: Context, obs: Observer) -> Evaluation:
        capture = ctx.capture(step.document)
        gallery = capture.gallery
        assert gallery is not None and gallery.older is not None
        older = gallery.older
        versions = definition_versions(capture, obs)
        going = (
            {v["id"].lower() for v in retention(ctx, capture, obs).delete}
            if gallery.retain is not None
            else set()
        )
        desired = version_number(gallery.version)
        marks: list[tuple[str, str, bool, str | None]] = []  # resource group, name, exclude, end of life
        lines: list[str] = []
        foreign: list[str] = []
        for version in sorted(versions, key=lambda v: version_number(version_of(v))):
            number = version_of(version)
            if (version.get("provisioning_state") or "").lower() == "failed":
                continue
            if version_number(number) == desired:
                if (
                    older.exclude_from_latest
                    and ctx.owns(version)
                    and version["properties"]["exclude_from_latest"]
                ):
                    marks.append(
                        (
                            version["resource_group"],
                            version["name"],
                            False,
                            version["properties"]["end_of_life"],
                        )
                    )
                    lines.append(f"{number}: included in latest again (the spec's version)")
                continue
            if version_number(number) > desired or version["id"].lower() in going:
                continue
            if not ctx.owns(version):
                foreign.append(number)
                continue
            exclude, wanted, missing = _marks(version, older)
            if missing:
                marks.append((version["resource_group"], version["name"], exclude, _iso(wanted)))
                lines.append(f"{number}: {', '.join(missing)}")
        note = f"; {', '.join(foreign)} left as they are: not made by this stack" if foreign else ""
        if not marks:
            return self.change(
                step, "no-op", f"versions older than {gallery.version} are marked as the spec says{note}"
            )
        return self.change(
            step,
            "update",
            f"mark the versions older than {gallery.version} (gallery.olderVersions): {'; '.join(lines)}{note}",
            marks=marks,
        )

    def act(self, step: Step, ev: Evaluation, ctx: Context, azure: Provider, obs: Observer) -> None:
        pending = [
            azure.mark_gallery_version(rg, name, exclude, eol) for rg, name, exclude, eol in ev.extra["marks"]
        ]
        for operation in pending:
            operation.wait()
