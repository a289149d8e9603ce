"""CAT.csv: ``;``-separated with a header row; columns are found by name (KEY is required).

Public integrations disagree on the columns (DE;KEY;ICON;IMAGE vs code;name;parent_code), so
the parser reads the header instead of assuming positions. Two-letter columns are names by
language ("DE": "Büro / Schreibwaren / Kugelschreiber").
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from app.catalogue.errors import MalformedCategories

KEY_ALIASES = ("key", "code")


@dataclass(frozen=True)
class Category:
    key: str  # matches NonLanguageDependedProductDetails.Category
    names: dict[str, str] = field(default_factory=dict)
    icon: str | None = None
    image: str | None = None
    parent_key: str | None = None


@dataclass
class CategoryFile:
    categories: list[Category]
    skipped: int = 0  # rows without a KEY


def parse_cat_csv(text: str) -> CategoryFile:
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise MalformedCategories("CAT.csv is empty: expected a header row with a KEY column")
    header = [h.strip().lower() for h in rows[0]]
    key_col = next((header.index(a) for a in KEY_ALIASES if a in header), None)
    if key_col is None:
        raise MalformedCategories(f"CAT.csv header has no KEY column: {rows[0]!r}")
    lang_cols = {i: h for i, h in enumerate(header) if len(h) == 2 and h.isalpha()}
    if "name" in header:
        lang_cols[header.index("name")] = "name"
    col = {h: i for i, h in enumerate(header)}
    result = CategoryFile(categories=[])
    seen: set[str] = set()
    for row in rows[1:]:
        def cell(i: int | None, row: list[str] = row) -> str | None:
            return row[i].strip() if i is not None and i < len(row) and row[i].strip() else None
        key = cell(key_col)
        if not key or key in seen:
            result.skipped += 1
            continue
        seen.add(key)
        names = {lang: value for i, lang in lang_cols.items() if (value := cell(i))}
        result.categories.append(Category(
            key=key, names=names, icon=cell(col.get("icon")), image=cell(col.get("image")),
            parent_key=cell(col.get("parent_code")),
        ))
    return result
