"""The layering rules, checked on the source: no import cycles, app/ never imports tasks/,
the platform never imports the dashboard."""
from __future__ import annotations

from tests.architecture.import_graph import ROOT, all_imports, build_graph, find_cycle, module_name


def test_no_module_level_import_cycle_in_app_tasks_and_workers():
    graph = build_graph()
    assert {"app.platform.celery_app", "tasks.farcaster", "workers.pools"} <= set(graph)
    assert "app.settings" in graph["app.platform.celery_app"]  # the graph sees real edges
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or ())


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def _importers(package: str, forbidden: str) -> list[str]:
    offenders = []
    for path in sorted((ROOT / package.replace(".", "/")).rglob("*.py")):
        bad = sorted(m for m in all_imports(path) if m == forbidden or m.startswith(forbidden + "."))
        if bad:
            offenders.append(f"{module_name(path)} imports {', '.join(bad)}")
    return offenders


def test_app_never_imports_tasks():
    assert _importers("app", "tasks") == []


def test_the_platform_never_imports_the_dashboard():
    assert _importers("app.platform", "app.dashboard") == []
