"""Every `custos …` command the README and docs/ show exists, with every flag they give it.

The commands are read from the code blocks (a `$ ` prompt, `\\` continuations, `&&` chains and
`# comments` allowed) and the inline code spans that start with `custos `, then resolved against
the CLI's own command tree: what `custos … --help` would list, without starting a process per
command. A placeholder (`KIND`, `N`, `DIR`) where a subcommand goes ends the walk there; the
flags are then checked against the deepest command reached.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer

from custos.cli import app

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.M | re.S)
_INLINE = re.compile(r"(?<!`)`(custos [^`]+)`(?!`)")
_FLAG = re.compile(r"^--?[a-zA-Z][\w-]*")


def mentions(text: str) -> list[str]:
    """The `custos …` command lines in a markdown text, one string each."""
    found = []
    for block in _FENCE.findall(text):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip().removeprefix("$ ")
            for part in line.split("&&"):
                part = part.split(" # ")[0].strip()
                if part.startswith("custos "):
                    found.append(part)
    found += [" ".join(span.split()) for span in _INLINE.findall(text)]
    return found


def problems(command: str, root: Any) -> list[str]:
    """What in `command` the CLI does not have: an unknown subcommand, or a flag its command lacks.

    `root` is the CLI's command tree (`typer.main.get_command`): groups have `commands`, every command `params`.
    """
    current, path = root, ["custos"]
    tokens = command.replace("[", " ").replace("]", " ").split()[1:]
    flags = [t for t in tokens if _FLAG.match(t)]
    for token in tokens:
        if token.startswith("-") or not hasattr(current, "commands"):
            break
        names = token.split("|")  # `job open psi|stats|fedavg|hetero-lr`: each one must exist
        if not all(re.fullmatch(r"[a-z][a-z0-9-]*", name) for name in names):
            break  # a placeholder (KIND, N, DIR) or an argument: the command is as deep as it goes
        missing = [name for name in names if name not in current.commands]
        if missing:
            return [f"{' '.join(path)} has no command {missing[0]!r}"]
        current, path = current.commands[names[0]], [*path, names[0]]
    known = {"--help", *(opt for p in current.params for opt in (*p.opts, *p.secondary_opts))}
    return [
        f"{' '.join(path)} has no option {flag}"
        for token in flags
        for flag in (f.split("=")[0] for f in token.split("/"))  # `--transcript-leaves/--utility-table`
        if _FLAG.fullmatch(flag) and flag not in known
    ]


def test_every_custos_command_and_flag_in_the_readme_and_docs_exists() -> None:
    root = typer.main.get_command(app)
    seen = {(doc.name, command) for doc in DOCUMENTS for command in mentions(doc.read_text())}
    assert len(seen) > 80  # the parser finds the documents' commands (86 distinct ones today)

    wrong = [f"{name}: `{command}`: {p}" for name, command in sorted(seen) for p in problems(command, root)]

    assert wrong == []


def test_the_checker_names_a_command_or_flag_the_cli_lacks() -> None:
    root = typer.main.get_command(app)
    assert problems("custos job open psi --sources 0,1 -w ws/bank", root) == []
    assert problems("custos job close 3", root) == ["custos job has no command 'close'"]
    assert problems("custos job open psi|sql", root) == ["custos job open has no command 'sql'"]
    assert problems("custos audit job 0 --verifyy", root) == ["custos audit job has no option --verifyy"]
