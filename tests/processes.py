"""What a test checks after stopping processes: nothing of them is left running, their ports are free."""

from __future__ import annotations

import socket
from pathlib import Path


def session_processes(session: int) -> list[str]:
    """The live processes of session `session` ("pid command"), zombies aside.

    A test starts a command with `start_new_session=True`: every process it starts, and those
    they start in turn (a gateway's worker pool), belong to its session unless they leave it.
    """
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # it exited while we looked
            continue
        command = text[text.index("(") + 1 : text.rindex(")")]
        state, _ppid, _group, sid = text[text.rindex(")") + 2 :].split()[:4]
        if int(sid) == session and state != "Z":
            found.append(f"{stat.parent.name} {command}")
    return found


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could listen on `host:port` now (nothing holds it)."""
    try:
        socket.create_server((host, port)).close()
    except OSError:
        return False
    return True
