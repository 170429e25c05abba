"""A process's descendants and their titles, read from ``/proc`` (Linux).

For the tests and benchmarks that kill a Ray worker mid-run (``tests/test_ray.py``,
``benchmarks/ray_cluster.py``): they find the worker running a letters task among the
descendants of a raylet or of the test process, by the title Ray gives it.
"""

from __future__ import annotations

import os


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children, their children...), as ``/proc`` shows them now."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue  # gone, or not a process
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def title(pid: int) -> str:
    """The process's command line as one string ("ray::..." for a Ray worker); "" once gone."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""
