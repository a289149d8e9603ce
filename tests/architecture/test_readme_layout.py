"""The README's layout table names what the tree holds: every path in it exists, and every
package under app/ and every top-level source folder is in it."""
from __future__ import annotations

import re

from tests.architecture.import_graph import ROOT


def _layout_paths() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Where things are", 1)[1].split("\n## ", 1)[0]
    first_cells = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    return [path.rstrip("/") for cell in first_cells for path in re.findall(r"`([^`]+)`", cell)]


def test_every_path_in_the_layout_table_exists():
    paths = _layout_paths()
    assert "app/platform" in paths and "workers" in paths
    assert [p for p in paths if not (ROOT / p).exists()] == []


def test_every_app_package_and_top_level_source_folder_is_in_the_table():
    paths = set(_layout_paths())
    packages = {f"app/{p.name}" for p in (ROOT / "app").iterdir() if (p / "__init__.py").exists()}
    folders = {"tasks", "workers", "alembic", "simulators", "bench", "scripts", "tests"}
    assert sorted((packages | folders) - paths) == []
