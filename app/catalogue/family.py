"""Parse one product-family JSON (the real Promidata shape) into plain records.

The family key is the root ``Sku``; ``ANumber`` is the supplier; variants are ``ChildProducts``.
A "pattern A" family has one child whose Sku equals the family's: that is allowed (variants
are their own table). Images repeat across languages and children: each entity keeps a URL once.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from app.catalogue.errors import MalformedFamily

PRICE_KINDS = {"RecommendedSellingPrice": "selling", "GeneralBuyingPrice": "buying"}
COLOUR_NAMES = ("color", "colour", "farbe")
SIZE_NAMES = ("size", "größe", "groesse")
PREFERRED_LANGUAGES = ("en", "de", "nl", "fr")


@dataclass(frozen=True)
class ImageRef:
    url: str
    role: str  # "main" (the entity's Image) or "gallery"
    position: int


@dataclass(frozen=True)
class ImprintPosition:
    """One print position of a variant (``ChildProducts[].ImprintPositions[]``) and its location images."""

    code: str  # PositionCode, e.g. "item front_150x150mm"; unique within the variant
    position: int
    names: dict[str, str]  # ImprintLocationTexts.<lang>.Name
    max_print_area: str | None  # UnstructuredInformation.MaxPrintArea, e.g. "150 x 150 mm"
    images: list[ImageRef]  # ImprintLocationTexts.<lang>.Images[], each URL once


@dataclass(frozen=True)
class PriceTier:
    region: str  # BENELUX, EURO, DEU, ...
    kind: str  # "selling" (RecommendedSellingPrice) or "buying" (GeneralBuyingPrice)
    quantity: int
    price: Decimal
    currency: str
    on_request: bool
    min_order_quantity: int | None


@dataclass
class VariantRecord:
    sku: str
    supplier_sku: str | None
    position: int
    colour: str | None
    size: str | None
    hex_colour: str | None
    ean: str | None
    weight_g: Decimal | None
    length_mm: Decimal | None
    width_mm: Decimal | None
    height_mm: Decimal | None
    diameter_mm: Decimal | None
    depth_mm: Decimal | None
    names: dict[str, str]
    prices: list[PriceTier]
    images: list[ImageRef]
    imprint_positions: list[ImprintPosition] = field(default_factory=list)


@dataclass
class FamilyRecord:
    sku: str
    supplier_code: str
    supplier_sku: str | None
    supplier_display_name: str | None
    names: dict[str, str]
    descriptions: dict[str, str]
    category_key: str | None
    brand: str | None
    summary_price: Decimal | None
    summary_price_region: str | None
    images: list[ImageRef]
    variants: list[VariantRecord] = field(default_factory=list)

    def image_urls(self) -> list[str]:
        """Every distinct image URL of the family, in first-seen order."""
        seen: dict[str, None] = {}
        for ref in self.images:
            seen.setdefault(ref.url)
        for variant in self.variants:
            for ref in variant.images:
                seen.setdefault(ref.url)
            for imprint in variant.imprint_positions:
                for ref in imprint.images:
                    seen.setdefault(ref.url)
        return list(seen)


def _fail(sku: str, message: str) -> MalformedFamily:
    return MalformedFamily(f"family {sku}: {message}")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _number(sku: str, where: str, value: Any, *, allow_zero_as_none: bool = False) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise _fail(sku, f"{where} is a boolean, expected a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise _fail(sku, f"{where} is not a number: {value!r}") from None
    if not number.is_finite() or number < 0:
        raise _fail(sku, f"{where} must be a non-negative number, got {value!r}")
    return None if allow_zero_as_none and number == 0 else number


def _mapping(sku: str, where: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _fail(sku, f"{where} must be an object, got {type(value).__name__}")
    return value


def _languages(sku: str, where: str, details: Any) -> dict[str, dict[str, Any]]:
    details = _mapping(sku, where, details)
    for lang, entry in details.items():
        if not isinstance(entry, dict):
            raise _fail(sku, f"{where}.{lang} must be an object")
    order = [x for x in PREFERRED_LANGUAGES if x in details] + [x for x in details if x not in PREFERRED_LANGUAGES]
    return {lang: details[lang] for lang in order}


def _add_image(sku: str, refs: dict[str, ImageRef], image: Any, role: str, path: str) -> None:
    if image is None:
        return
    if not isinstance(image, dict):
        raise _fail(sku, f"{path} must be an object with a Url")
    url = _text(image.get("Url"))
    if url is None:
        return
    if not url.startswith(("http://", "https://")):
        raise _fail(sku, f"{path}.Url is not an http(s) URL: {url!r}")
    if url not in refs:
        refs[url] = ImageRef(url=url, role=role, position=len(refs))


def _images(sku: str, where: str, details: dict[str, dict[str, Any]]) -> list[ImageRef]:
    refs: dict[str, ImageRef] = {}

    def add(image: Any, role: str, path: str) -> None:
        _add_image(sku, refs, image, role, path)

    for lang, entry in details.items():
        add(entry.get("Image"), "main", f"{where}.{lang}.Image")
        gallery = entry.get("MediaGalleryImages") or []
        if not isinstance(gallery, list):
            raise _fail(sku, f"{where}.{lang}.MediaGalleryImages must be a list")
        for i, image in enumerate(gallery):
            add(image, "gallery", f"{where}.{lang}.MediaGalleryImages[{i}]")
    return list(refs.values())


def _imprint_positions(sku: str, where: str, value: Any) -> list[ImprintPosition]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _fail(sku, f"{where} must be a list")
    positions: dict[str, ImprintPosition] = {}
    for i, entry in enumerate(value):
        path = f"{where}[{i}]"
        entry = _mapping(sku, path, entry)
        code = _text(entry.get("PositionCode"))
        if code is None:
            raise _fail(sku, f"{path} has no PositionCode")
        texts = _languages(sku, f"{path}.ImprintLocationTexts", entry.get("ImprintLocationTexts"))
        refs: dict[str, ImageRef] = {}
        for lang, text in texts.items():
            found = text.get("Images") or []
            if not isinstance(found, list):
                raise _fail(sku, f"{path}.ImprintLocationTexts.{lang}.Images must be a list")
            for k, image in enumerate(found):
                _add_image(sku, refs, image, "imprint", f"{path}.ImprintLocationTexts.{lang}.Images[{k}]")
        unstructured = _mapping(sku, f"{path}.UnstructuredInformation", entry.get("UnstructuredInformation"))
        if code not in positions:  # a repeated code is a feed glitch: the first one wins
            positions[code] = ImprintPosition(code=code, position=len(positions), names=_names(texts, "Name"),
                                              max_print_area=_text(unstructured.get("MaxPrintArea")),
                                              images=list(refs.values()))
    return list(positions.values())


def _names(details: dict[str, dict[str, Any]], key: str) -> dict[str, str]:
    return {lang: text for lang, entry in details.items() if (text := _text(entry.get(key)))}


def _configuration(details: dict[str, dict[str, Any]], names: tuple[str, ...]) -> str | None:
    for entry in details.values():  # preferred language first
        for item in entry.get("ConfigurationFields") or []:
            if isinstance(item, dict) and str(item.get("ConfigurationName", "")).strip().lower() in names:
                if value := _text(item.get("ConfigurationValue")):
                    return value
    return None


def _prices(sku: str, where: str, by_region: Any) -> list[PriceTier]:
    tiers: dict[tuple[str, str, int], PriceTier] = {}
    for region, block in _mapping(sku, where, by_region).items():
        block = _mapping(sku, f"{where}.{region}", block)
        moq = _number(sku, f"{where}.{region}.MinimumOrderQuantity", block.get("MinimumOrderQuantity"))
        for field_name, kind in PRICE_KINDS.items():
            entries = block.get(field_name) or []
            if not isinstance(entries, list):
                raise _fail(sku, f"{where}.{region}.{field_name} must be a list")
            for i, tier in enumerate(entries):
                path = f"{where}.{region}.{field_name}[{i}]"
                tier = _mapping(sku, path, tier)
                price = _number(sku, f"{path}.Price", tier.get("Price"))
                quantity = _number(sku, f"{path}.Quantity", tier.get("Quantity"))
                if price is None or quantity is None:
                    raise _fail(sku, f"{path} needs a Price and a Quantity")
                key = (str(region), kind, int(quantity))
                # A repeated quantity is a feed glitch; the last one wins, as a re-sent row would.
                tiers[key] = PriceTier(region=str(region), kind=kind, quantity=int(quantity), price=price,
                                       currency=_text(tier.get("Valuta")) or "EURO",
                                       on_request=bool(tier.get("OnRequest")),
                                       min_order_quantity=int(moq) if moq is not None else None)
    return list(tiers.values())


def _summary_price(tiers: list[PriceTier]) -> tuple[Decimal | None, str | None]:
    selling = [t for t in tiers if t.kind == "selling" and not t.on_request]
    if not selling:
        return None, None
    cheapest = min(selling, key=lambda t: t.price)
    return cheapest.price, cheapest.region


def _variant(family_sku: str, position: int, child: Any) -> VariantRecord:
    where = f"ChildProducts[{position}]"
    if not isinstance(child, dict):
        raise _fail(family_sku, f"{where} must be an object")
    sku = _text(child.get("Sku"))
    if sku is None:
        raise _fail(family_sku, f"{where} has no Sku")
    details = _languages(family_sku, f"{where}.ProductDetails", child.get("ProductDetails"))
    nld = _mapping(family_sku, f"{where}.NonLanguageDependedProductDetails",
                   child.get("NonLanguageDependedProductDetails"))
    search_colour = _text(nld.get("SearchColor"))
    dim = lambda key: _number(family_sku, f"{where}.{key}", nld.get(key), allow_zero_as_none=True)  # noqa: E731
    return VariantRecord(
        sku=sku,
        supplier_sku=_text(child.get("SupplierSku")),
        position=position,
        colour=_configuration(details, COLOUR_NAMES) or (search_colour if search_colour != "Undefined" else None),
        size=_configuration(details, SIZE_NAMES),
        hex_colour=_text(nld.get("HexColor")),
        ean=_text(child.get("Ean")),
        weight_g=dim("Weight"),
        length_mm=dim("DimensionsLength"),
        width_mm=dim("DimensionsWidth"),
        height_mm=dim("DimensionsHeight"),
        diameter_mm=dim("DimensionsDiameter"),
        depth_mm=dim("DimensionsDepth"),
        names=_names(details, "Name"),
        prices=_prices(family_sku, f"{where}.ProductPriceCountryBased", child.get("ProductPriceCountryBased")),
        images=_images(family_sku, f"{where}.ProductDetails", details),
        imprint_positions=_imprint_positions(family_sku, f"{where}.ImprintPositions", child.get("ImprintPositions")),
    )


def parse_family(data: bytes, expected_sku: str) -> FamilyRecord:
    """Validate and convert; raise MalformedFamily naming the family and the offending field."""
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _fail(expected_sku, f"not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise _fail(expected_sku, f"expected a JSON object, got {type(doc).__name__}")
    sku = _text(doc.get("Sku"))
    if sku != expected_sku:
        raise _fail(expected_sku, f"root Sku is {sku!r}, expected {expected_sku!r} (the file name)")
    supplier = _text(doc.get("ANumber"))
    if supplier is None or not sku.startswith(supplier + "-"):
        raise _fail(sku, f"ANumber {supplier!r} does not match the Sku prefix")
    children = doc.get("ChildProducts")
    if not isinstance(children, list) or not children:
        raise _fail(sku, "ChildProducts must be a non-empty list")
    variants = [_variant(sku, i, child) for i, child in enumerate(children)]
    dupes = {v.sku for v in variants if sum(1 for w in variants if w.sku == v.sku) > 1}
    if dupes:
        raise _fail(sku, f"repeated child Sku(s): {sorted(dupes)[:5]}")
    details = _languages(sku, "ProductDetails", doc.get("ProductDetails"))
    nld = _mapping(sku, "NonLanguageDependedProductDetails", doc.get("NonLanguageDependedProductDetails"))
    unstructured = _mapping(sku, "UnstructuredInformation", doc.get("UnstructuredInformation"))
    root_prices = _prices(sku, "ProductPriceCountryBased", doc.get("ProductPriceCountryBased"))
    summary, region = _summary_price(root_prices or [t for v in variants for t in v.prices])
    return FamilyRecord(
        sku=sku,
        supplier_code=supplier,
        supplier_sku=_text(doc.get("SupplierSku")),
        supplier_display_name=_text(unstructured.get("SupplierNameToShow")),
        names=_names(details, "Name"),
        descriptions=_names(details, "Description"),
        category_key=_text(nld.get("Category")),
        brand=_text(nld.get("Brand")),
        summary_price=summary,
        summary_price_region=region,
        images=_images(sku, "ProductDetails", details),
        variants=variants,
    )
