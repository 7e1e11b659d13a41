"""Values read from Azure, as a plan prints them: never a terminal escape, never a CI command."""

from __future__ import annotations

from imagepipe.render.safe import markup, printable


def test_a_tag_cannot_become_a_ci_agent_s_command() -> None:
    assert printable("x ##vso[task.setvariable variable=a]b") == "x \\x23#vso[task.setvariable variable=a]b"
    assert printable("x ##[error]forged") == "x \\x23#[error]forged"
    assert printable("::error file=a::forged") == "\\x3a:error file=a::forged"
    assert printable("ok # not ## a [command] a::b") == "ok # not ## a [command] a::b"


def test_control_characters_and_markup_are_shown_not_obeyed() -> None:
    assert printable("a\nNo changes.\x1b[2J") == "a\\x0aNo changes.\\x1b[2J"
    assert markup("[bold]x[/bold]") == "\\[bold]x\\[/bold]"
