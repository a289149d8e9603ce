"""Import.txt: line 1 links CAT.csv; every other line is one product family, ``<JSON URL>|<40-hex hash>``.

The hash is an opaque change token (compared case-insensitively), not a checksum we verify.
Malformed lines are skipped and counted so one bad line never blocks a supplier; a bad line that
names a supplier (its ``/A123/`` path segment) is counted for that supplier, as are its repeated
families. Lines that name none are counted for the whole file.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

HASH_RE = re.compile(r"^[0-9A-Fa-f]{40}$")
FAMILY_SKU_RE = re.compile(r"^(A\d+)-\S+$")
LINE_SPLIT_RE = re.compile(r"\r\n|\r|\n")
SUPPLIER_SEGMENT_RE = re.compile(r"/(A\d+)/")  # how every integration finds a line's supplier
MAX_EXAMPLES = 5


@dataclass(frozen=True)
class FeedEntry:
    sku: str  # the family key: the JSON file name without .json (= the root Sku)
    supplier_code: str  # the A-number
    url: str
    feed_hash: str  # upper case


@dataclass
class ImportIndex:
    categories_url: str | None
    entries: list[FeedEntry]
    malformed: int = 0
    duplicates: int = 0
    malformed_examples: list[str] = field(default_factory=list)
    malformed_by_supplier: Counter[str] = field(default_factory=Counter)
    duplicates_by_supplier: Counter[str] = field(default_factory=Counter)

    @property
    def malformed_unattributed(self) -> int:
        return self.malformed - sum(self.malformed_by_supplier.values())

    def for_supplier(self, code: str) -> list[FeedEntry]:
        return [e for e in self.entries if e.supplier_code == code]

    def supplier_codes(self) -> list[str]:
        return sorted({e.supplier_code for e in self.entries}, key=lambda c: int(c[1:]))

    def families_by_supplier(self) -> dict[str, int]:
        return dict(Counter(e.supplier_code for e in self.entries))


def _path_of(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return parts.path


def parse_entry(line: str) -> FeedEntry | None:
    """One product line, or None when it is not one."""
    url, sep, token = line.partition("|")  # split on the first "|" only
    url, token = url.strip(), token.strip()
    path = _path_of(url)
    if not sep or path is None or not path.lower().endswith(".json") or not HASH_RE.match(token):
        return None
    sku = path.rsplit("/", 1)[-1][: -len(".json")]
    match = FAMILY_SKU_RE.match(sku)
    if not match:
        return None
    return FeedEntry(sku=sku, supplier_code=match.group(1), url=url, feed_hash=token.upper())


def parse_import_txt(text: str) -> ImportIndex:
    index = ImportIndex(categories_url=None, entries=[])
    seen: set[str] = set()
    for raw in LINE_SPLIT_RE.split(text.lstrip("\ufeff")):
        line = raw.strip()
        if not line:
            continue
        entry = parse_entry(line)
        if entry is None:
            path = _path_of(line.partition("|")[0].strip())
            if index.categories_url is None and path and path.lower().endswith(".csv"):
                index.categories_url = line.partition("|")[0].strip()
                continue
            index.malformed += 1
            if supplier := SUPPLIER_SEGMENT_RE.search(line.partition("|")[0]):
                index.malformed_by_supplier[supplier.group(1)] += 1
            if len(index.malformed_examples) < MAX_EXAMPLES:
                index.malformed_examples.append(line[:200])
            continue
        if entry.sku in seen:
            index.duplicates += 1  # the first line wins: a repeated family is a feed glitch
            index.duplicates_by_supplier[entry.supplier_code] += 1
            continue
        seen.add(entry.sku)
        index.entries.append(entry)
    return index
