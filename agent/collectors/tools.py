"""Which development tools are running now, from the process table (psutil).

Matched on the executable path (or the process name when the path is unreadable), never
on command-line arguments. Only the developer's own processes count, and never the agent
itself or anything it started: the old collector's scan matched its own ``grep`` and so
reported every tool, every time.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

import psutil


def running_tools(patterns: Mapping[str, str]) -> set[str]:
    """Names of the tools with at least one matching process of this user, outside the agent."""
    compiled = {tool: re.compile(pattern) for tool, pattern in patterns.items()}
    if not compiled:
        return set()
    excluded = _agent_processes()
    uid = os.getuid() if hasattr(os, "getuid") else None
    seen: set[str] = set()
    for process in psutil.process_iter(["pid", "name", "exe", "uids"], ad_value=None):
        info = process.info
        if info["pid"] in excluded:
            continue
        if uid is not None and (info["uids"] is None or info["uids"].real != uid):
            continue
        subject = info["exe"] or info["name"] or ""
        seen.update(tool for tool, regex in compiled.items() if regex.search(subject))
    return seen


def _agent_processes() -> set[int]:
    me = psutil.Process()
    try:
        children = me.children(recursive=True)
    except psutil.Error:
        children = []
    return {me.pid, *(child.pid for child in children)}
