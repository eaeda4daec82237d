"""`custos demo`: the README's first command (`make demo`), and how it stops when interrupted.

Ctrl-C (SIGINT) or SIGTERM stops every process the demo started (its chain node, each
organisation's gateway) before the command exits, says so on one line, and exits with the
shell's status for that signal (130, 143).
"""

from __future__ import annotations

import signal
from pathlib import Path

import typer

# The exit status of a command stopped by Ctrl-C (SIGINT) or SIGTERM, as shells report it: 128 + the signal.
INTERRUPTED, TERMINATED = 128 + signal.SIGINT, 128 + signal.SIGTERM


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread: the demo stops its processes as on Ctrl-C instead of orphaning them."""


def _terminated(signum: int, frame: object) -> None:
    raise _Terminated


def demo(
    folder: Path = typer.Option(Path("custos-demo"), "--dir", help="Where the demo's chain and parties live."),
    businesses: int = typer.Option(2000, "--businesses", help="Size of the synthetic credit universe."),
    key_bits: int = typer.Option(2048, "--key-bits", help="Paillier key size."),
    epochs: int = typer.Option(4, "--epochs", help="Hetero-LR iterations at most (one encrypted pass each)."),
    nodes: int = typer.Option(1, "--nodes", help="N > 1: N organisations each run a consortium node (needs etcd)."),
) -> None:
    """Build a consortium on the embedded chain and run the bank + invoice-firm + card-network credit job."""
    from custos.demo import Demo, DemoConfig
    from custos.demo_report import report

    config = DemoConfig(folder=folder, businesses=businesses, key_bits=key_bits, epochs=epochs, nodes=nodes)
    run = Demo(config, typer.echo)
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        code = report(run.run(), config, typer.echo)
    except RuntimeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (`_Terminated`)
        run.stop()  # before the line, which says the processes are gone
        typer.echo(
            f"interrupted: the demo's chain node and gateways are stopped; what it built is in {folder}", err=True
        )
        raise typer.Exit(TERMINATED if isinstance(exc, _Terminated) else INTERRUPTED) from None
    finally:
        run.stop()
        signal.signal(signal.SIGTERM, previous)
    raise typer.Exit(code)
