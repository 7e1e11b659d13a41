"""`imagepipe output`: the ids downstream jobs need (images, gallery versions, snapshots, VMs and
their private IPs, scale sets), per document, read from the target."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.table import Table

from imagepipe.cli.common import target_config, target_options
from imagepipe.errors import ExitCode
from imagepipe.render.console import console
from imagepipe.render.safe import markup

if TYPE_CHECKING:
    from imagepipe.app.usecases import OutputOutcome


def _rows(document: dict[str, Any]) -> list[tuple[str, str]]:
    """(what, value) lines of one document, in a fixed order."""
    rows: list[tuple[str, str]] = []
    if "managed_image" in document:
        rows.append(("managed image", document["managed_image"]["id"]))
    if "gallery_image_version" in document:
        version = document["gallery_image_version"]
        rows.append(("gallery image version", version["id"]))
        rows += [(f"  replication {region}", state) for region, state in version["replication"].items()]
    rows += [(f"snapshot {snap['name']}", snap["id"]) for snap in document.get("snapshots", [])]
    for vm in document.get("vms", []):
        rows.append((f"VM {vm['name']}", vm["id"]))
        rows.append(("  private IPs", ", ".join(vm["private_ips"]) or "none"))
    rows += [(f"scale set {vmss['name']}", vmss["id"]) for vmss in document.get("scale_sets", [])]
    return rows


def _table(outcome: OutputOutcome) -> None:
    out = console()
    data = outcome.to_json()["documents"]
    if not data:
        out.print(f"Stack [bold]{markup(outcome.stack)}[/bold] has no outputs yet: nothing it makes exists.")
        return
    table = Table(title=f"Outputs of stack {markup(outcome.stack)}", title_justify="left")
    for column in ("document", "output", "value"):
        table.add_column(column, overflow="fold")
    for document, values in data.items():
        for index, (what, value) in enumerate(_rows(values)):
            table.add_row(markup(document) if index == 0 else "", markup(what), markup(value))
    out.print(table)


def _json(outcome: OutputOutcome) -> None:
    click.echo(json.dumps(outcome.to_json(), indent=2))


RENDERERS = {"table": _table, "json": _json}


@click.command(name="output")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@target_options
@click.option(
    "-o",
    "--output",
    type=click.Choice(list(RENDERERS)),
    default="table",
    show_default=True,
    help="table for people, json for scripts: {stack, documents: {Kind/name: {...}}}.",
)
def command(
    paths: tuple[Path, ...],
    target: str,
    subscription: str | None,
    endpoint: str | None,
    ca_file: str | None,
    output: str,
) -> ExitCode:
    """Per document, the ids downstream jobs need, read from the target (the cloud is the state).

    \b
    managed_image          {id, name}
    gallery_image_version  {id, name, replication: {region: state}}
    snapshots              [{id, name}]
    vms                    [{id, name, private_ips}]
    scale_sets             [{id, name}]
    """
    from imagepipe.app import usecases  # the engine loads the Azure SDK: only when a command runs

    config = target_config(target, subscription, endpoint, ca_file)
    RENDERERS[output](usecases.output(usecases.OutputRequest(paths, config)))
    return ExitCode.SUCCESS
