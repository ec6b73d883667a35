"""A wheel built from the source ships the templates (presets, locales, demo names)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_wheel_ships_templates(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                    str(tmp_path), str(ROOT)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("xlcrm-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {p.relative_to(ROOT).as_posix() for p in (ROOT / "templates").rglob("*")
               if p.is_file()}
    assert shipped
    for rel in shipped:
        assert f"xlcrm/{rel}" in names, rel
    assert "xlcrm/py.typed" in names
