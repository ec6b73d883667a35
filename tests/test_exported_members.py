"""The public surface is listed once, sorted, and every name in it is documented."""

from __future__ import annotations

from pathlib import Path

import xlcrm


def test_all_is_sorted_and_importable() -> None:
    assert xlcrm.__all__ == sorted(xlcrm.__all__)
    for name in xlcrm.__all__:
        assert hasattr(xlcrm, name), name


def test_public_functions_are_documented_in_readme() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    for name in xlcrm.__all__:
        if name.startswith("_"):
            continue
        assert f"`{name}" in readme, f"README.md does not mention xlcrm.{name}"
