"""Import.txt, CAT.csv and family JSON parsing, on the real sample family file and hand-made edge cases."""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from app.catalogue.categories_csv import parse_cat_csv
from app.catalogue.errors import MalformedCategories, MalformedFamily
from app.catalogue.family import parse_family
from app.catalogue.import_index import parse_import_txt

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "promidata" / "sample-A23-100804.json"  # a real family file
BASE = "https://promi-dl.de/Profiles/Live/849c892e-b443-4f49-be3a-61a351cbdd23"
HASH = "751159B8B70A7230BA6701227C1C5C63F9F2D108"


def sample_bytes() -> bytes:
    return SAMPLE.read_bytes()


def test_import_txt_lines_categories_and_malformed_lines() -> None:
    text = "\r\n".join([
        f"{BASE}/CAT.csv",
        f"{BASE}/A23/A23-100804.json|{HASH}",
        f"{BASE}/A36/A36-MO1001b.json|{HASH.lower()}",
        f"{BASE}/A360/A360-CMSOCK_CS01.json|{HASH}|extra",  # split on the first "|": hash is invalid
        f"{BASE}/A23/A23-100804.json|{'0' * 40}",  # a repeated family: the first line wins
        "garbage without a pipe",
        f"{BASE}/A23/A23-1.json|not-a-hash",
        "",
        f"{BASE}/A403/A403-K3022ICC_80204_80187.json|{HASH}",
    ]) + "\r\n"
    index = parse_import_txt(text)
    assert index.categories_url == f"{BASE}/CAT.csv"
    assert [e.sku for e in index.entries] == ["A23-100804", "A36-MO1001b", "A403-K3022ICC_80204_80187"]
    assert index.entries[1].feed_hash == HASH  # normalised to upper case
    assert index.entries[0].supplier_code == "A23"
    assert index.malformed == 3 and index.duplicates == 1
    # Counted for the supplier a line names; "garbage without a pipe" names none.
    assert index.malformed_by_supplier == {"A360": 1, "A23": 1} and index.malformed_unattributed == 1
    assert index.duplicates_by_supplier == {"A23": 1}
    assert index.for_supplier("A36")[0].url == f"{BASE}/A36/A36-MO1001b.json"
    assert index.supplier_codes() == ["A23", "A36", "A403"]


def test_cat_csv_is_read_by_header() -> None:
    parsed = parse_cat_csv("DE;KEY;ICON;IMAGE\r\nBüro / Schreibwaren / Kugelschreiber;WRITING/PENS;i.png;\r\n"
                           ";NO_NAME;;\r\nohne Key;;;\r\n")
    assert [(c.key, c.names, c.icon) for c in parsed.categories] == [
        ("WRITING/PENS", {"de": "Büro / Schreibwaren / Kugelschreiber"}, "i.png"), ("NO_NAME", {}, None)]
    assert parsed.skipped == 1
    other = parse_cat_csv("code;name;parent_code\nBAGS;Taschen;\nBAGS/SHOPPING;Einkaufstaschen;BAGS\n")
    assert [(c.key, c.parent_key) for c in other.categories] == [("BAGS", None), ("BAGS/SHOPPING", "BAGS")]
    with pytest.raises(MalformedCategories, match="no KEY column"):
        parse_cat_csv("DE;ICON\nx;y\n")


def test_real_family_file() -> None:
    family = parse_family(sample_bytes(), "A23-100804")
    assert (family.sku, family.supplier_code, family.supplier_sku) == ("A23-100804", "A23", "100804")
    assert family.category_key == "BAGS/SHOPPING_BAGS"
    assert set(family.names) == {"de", "fr", "en", "nl"}
    assert (family.summary_price, family.summary_price_region) == (Decimal("7.95"), "BENELUX")
    assert [v.sku for v in family.variants] == ["A23-100804-001", "A23-100804-410"]
    first = family.variants[0]
    assert first.colour.startswith("black") and first.ean == "8714612178119"
    assert (first.weight_g, first.length_mm, first.height_mm, first.width_mm) == (175, 280, 381, 127)
    assert first.diameter_mm is None  # 0 in the feed means "not given"
    selling = sorted((t.quantity, t.price) for t in first.prices if t.kind == "selling")
    assert selling[0] == (1, Decimal("8.98")) and len(selling) == 6
    assert {t.region for t in first.prices} == {"BENELUX"}
    # The same URLs repeat under de/fr/en/nl: each entity keeps each URL once.
    for entity_images in [family.images] + [v.images for v in family.variants]:
        urls = [i.url for i in entity_images]
        assert len(urls) == len(set(urls))
    assert len(family.image_urls()) == 13  # all 13 distinct URLs of the file, imprint images included
    assert family.variants[0].images[0].role == "main"
    # Each child has one print position whose location image (the same under de/fr/en/nl) is its own.
    positions = [v.imprint_positions for v in family.variants]
    assert [[(p.code, p.max_print_area) for p in ps] for ps in positions] == [
        [("item front_150x150mm", "150 x 150 mm")]] * 2
    assert positions[0][0].names["de"] == "Artikel Vorderseite (max 150 x 150 mm)"
    imprint_urls = [[r.url for r in ps[0].images] for ps in positions]
    assert [len(u) for u in imprint_urls] == [1, 1] and imprint_urls[0] != imprint_urls[1]
    assert imprint_urls[0][0].endswith("10fc5ae151eb51c6c469fdaee2e861bf3158682bc8976597d2f568490710d9e0.png")
    assert {r.role for ps in positions for r in ps[0].images} == {"imprint"}


def test_single_child_may_share_the_family_sku() -> None:
    doc = json.loads(sample_bytes())
    doc["ChildProducts"] = doc["ChildProducts"][:1]
    doc["ChildProducts"][0]["Sku"] = doc["Sku"]
    family = parse_family(json.dumps(doc).encode(), "A23-100804")
    assert [v.sku for v in family.variants] == ["A23-100804"]


@pytest.mark.parametrize("mutate, message", [
    (lambda d: "{not json", "not valid JSON"),
    (lambda d: {**d, "Sku": "A23-999"}, "root Sku is 'A23-999'"),
    (lambda d: {**d, "ANumber": "A36"}, "ANumber 'A36' does not match"),
    (lambda d: {**d, "ChildProducts": []}, "ChildProducts must be a non-empty list"),
    (lambda d: {**d, "ChildProducts": [d["ChildProducts"][0], d["ChildProducts"][0]]}, "repeated child Sku"),
])
def test_malformed_families_are_refused_with_a_clear_error(mutate, message) -> None:
    doc = json.loads(sample_bytes())
    changed = mutate(doc)
    data = changed.encode() if isinstance(changed, str) else json.dumps(changed).encode()
    with pytest.raises(MalformedFamily, match=message):
        parse_family(data, "A23-100804")


def test_bad_price_names_the_field() -> None:
    doc = json.loads(sample_bytes())
    doc["ChildProducts"][1]["ProductPriceCountryBased"]["BENELUX"]["RecommendedSellingPrice"][2]["Price"] = "cheap"
    with pytest.raises(MalformedFamily, match=r"ChildProducts\[1\].*RecommendedSellingPrice\[2\]\.Price"):
        parse_family(json.dumps(doc).encode(), "A23-100804")
