"""Stopping a server the bench started in a session of its own (`start_new_session=True`):
the process group it leads, its workers included, as one.

Uvicorn (bench/servers.py) and PostGraphile (bench/postgraphile.py) are stopped alike. Only the
standard library is used, as bench/postgraphile.py promises of itself.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time


def stop_group(process: subprocess.Popen[bytes], grace_s: float) -> None:
    """SIGTERM the group `process` leads (servers shut down gracefully), SIGKILL it if any of
    it lingers past `grace_s`; then reap `process`."""
    # start_new_session made the process the leader of a group with the same id.
    group = process.pid
    if not signal_group(group, signal.SIGTERM):
        process.wait()
        return
    deadline = time.monotonic() + grace_s
    # Wait for the whole group, not just its leader: a worker can outlive its primary briefly.
    while time.monotonic() < deadline:
        process.poll()
        if not signal_group(group, 0):
            break
        time.sleep(0.1)
    else:
        signal_group(group, signal.SIGKILL)
    process.wait()


def signal_group(group: int, signal_number: int) -> bool:
    """Send a signal to the process group; False when no process of it is left."""
    try:
        os.killpg(group, signal_number)
    except ProcessLookupError:
        return False
    except PermissionError:
        # The id was reused by someone else's group after ours ended.
        return False
    return True
