"""requirements.lock pins every package pyproject.toml asks for (scripts/lock keeps them in step)."""
from __future__ import annotations

import re
import tomllib

from tests.conftest import ROOT


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_every_declared_dependency_is_pinned_in_the_lock() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {_name(r) for r in project["dependencies"]}
    for extra in project["optional-dependencies"].values():
        declared |= {_name(r) for r in extra}
    declared.discard(project["name"])  # extras that include other extras
    pinned = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9._-]+)==(\S+)", line)
        if match:
            pinned[_name(match[1])] = match[2]
    missing = sorted(declared - pinned.keys())
    assert not missing, f"not in requirements.lock (run scripts/lock): {missing}"
