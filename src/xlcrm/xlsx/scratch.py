"""Private scratch folders in the temporary directory, cleaned even after a killed run.

A folder is named ``xlcrm-<what>-<pid>-<random>``: the process that made it removes it when it
is done; a run killed before that (``kill -9``, a power cut) leaves it, and the next xlcrm run
that makes a scratch folder removes every one whose process no longer exists.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from pathlib import Path

__all__ = ["new_scratch_folder", "scratch_dir"]

_NAME = re.compile(r"xlcrm-[a-z]+-(\d+)-")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):  # another user's process, or no way to ask
        return True
    return True


def remove_dead_scratch() -> None:
    """Remove scratch folders left by xlcrm runs that no longer exist (best effort)."""
    root = tempfile.gettempdir()
    with contextlib.suppress(OSError):
        for entry in os.scandir(root):
            m = _NAME.match(entry.name)
            if m and entry.is_dir(follow_symlinks=False) and not _alive(int(m.group(1))):
                shutil.rmtree(entry.path, ignore_errors=True)


def new_scratch_folder(what: str) -> Path:
    """A private temporary folder for ``what`` that the caller removes (``shutil.rmtree``)."""
    if os.name != "nt":
        remove_dead_scratch()
    return Path(tempfile.mkdtemp(prefix=f"xlcrm-{what}-{os.getpid()}-"))


def scratch_dir(what: str) -> tempfile.TemporaryDirectory[str]:
    """A private temporary folder for ``what`` (``changes``, ``read`` ...), removed on exit."""
    if os.name != "nt":  # Windows can't ask whether a process exists this way
        remove_dead_scratch()
    return tempfile.TemporaryDirectory(prefix=f"xlcrm-{what}-{os.getpid()}-")
