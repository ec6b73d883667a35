"""Where the bundled templates live: inside the installed package, or at the repository top."""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE_TEMPLATES = Path(__file__).parent / "templates"
# an editable install or a source checkout keeps templates/ at the top of the repository
_SOURCE_TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


@cache
def templates_dir() -> Path:
    """Return the folder holding presets, locales, report templates and export mappings.

    Looked for once: a look at the disk while the reading threads hold the interpreter costs
    a wait for it each time (a hundred of them took 0.4 s of a 100k-lead read)."""
    for candidate in (_PACKAGE_TEMPLATES, _SOURCE_TEMPLATES):
        if (candidate / "presets").is_dir():
            return candidate
    raise FileNotFoundError(
        f"xlcrm's templates folder is missing (looked in {_PACKAGE_TEMPLATES} and "
        f"{_SOURCE_TEMPLATES}); reinstall xlcrm"
    )


@cache
def available_locales() -> list[str]:
    """Return the language codes xlcrm ships labels for (``en``, ``it`` ...).

    Kept here, beside the templates folder, so the command line can list them in its help
    without loading the schema.
    """
    return sorted(p.stem for p in (templates_dir() / "locales").glob("*.toml"))
