"""The README is what a user reads first: it must stay true to the code."""

from __future__ import annotations

import re
from pathlib import Path

from warehouse.config import SETTINGS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_every_setting_is_documented_and_no_phantom_ones() -> None:
    documented = set(re.findall(r"^\| `(WAREHOUSE_[A-Z_]+)` \|", README, flags=re.MULTILINE))
    assert documented == {setting.env for setting in SETTINGS}


def test_quickstart_commands_exist_in_the_makefile() -> None:
    quickstart = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    makefile = (ROOT / "Makefile").read_text()
    for target in ("run", "test"):
        assert f"make {target}" in quickstart
        assert re.search(rf"^{target}:", makefile, flags=re.MULTILINE)
    assert "make test" in (ROOT / ".ci" / "run").read_text(), "CI runs the README's test command"
