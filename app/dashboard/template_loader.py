"""One template namespace for Flower's pages and ours: our templates first, then Flower's.

Our navbar.html wraps Flower's ("flower:navbar.html") with a second bar of
Switchyard pages, so Flower's own pages link to ours without copying them;
our pages extend Flower's base.html for the same look.
"""
from __future__ import annotations

from pathlib import Path

import flower
from tornado.template import BaseLoader, Template

OWN_TEMPLATES = Path(__file__).resolve().parent / "templates"
FLOWER_TEMPLATES = Path(flower.__file__).resolve().parent / "templates"
FLOWER_PREFIX = "flower:"  # "flower:navbar.html" is Flower's template even where we have our own


class DashboardTemplateLoader(BaseLoader):
    def __init__(self, own: Path = OWN_TEMPLATES, fallback: Path = FLOWER_TEMPLATES, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.own, self.fallback = own, fallback

    def resolve_path(self, name: str, parent_path: str | None = None) -> str:
        return name  # every template is named from the top of its directory

    def path_of(self, name: str) -> Path:
        if name.startswith(FLOWER_PREFIX):
            return self.fallback / name[len(FLOWER_PREFIX):]
        own = self.own / name
        return own if own.is_file() else self.fallback / name

    def _create_template(self, name: str) -> Template:
        return Template(self.path_of(name).read_bytes(), name=name, loader=self)
