"""The simulated feed's content: suppliers, product families (documents built on demand), changes.

Everything is deterministic for a seed. A family's document depends only on (seed, sku,
revision); ``change_families`` bumps the revision (new hash, new name, prices and main
image), ``remove_families`` drops it from Import.txt.
"""
from __future__ import annotations

import hashlib
import json
import random
import threading
from dataclasses import dataclass, field

IMAGE_HOST_PATH = "/Images/LiveR2/5efa6fd9-b231-44f4-a49e-b57971d595a0"
PROFILE_PATH = "/Profiles/Live/849c892e-0000-4000-8000-5117a1a7ed00"
QUANTITIES = (1, 100, 250, 500, 1000, 1500)

NAMES = {
    "de": ("Tragetasche", "Kugelschreiber", "Trinkflasche", "Regenschirm", "Notizbuch", "T-Shirt"),
    "fr": ("Sac tote", "Stylo", "Gourde", "Parapluie", "Carnet", "T-shirt"),
    "en": ("Tote bag", "Ballpoint pen", "Water bottle", "Umbrella", "Notebook", "T-shirt"),
    "nl": ("Draagtas", "Balpen", "Drinkfles", "Paraplu", "Notitieboek", "T-shirt"),
}
CATEGORIES = (
    ("BAGS/SHOPPING_BAGS", "Taschen / Einkaufstaschen"),
    ("WRITING/BALLPOINT_PENS", "Büro / Schreibwaren / Kugelschreiber"),
    ("DRINKWARE/BOTTLES", "Trinken / Flaschen"),
    ("UMBRELLAS/STICK", "Regenschirme / Stockschirme"),
    ("OFFICE/NOTEBOOKS", "Büro / Notizbücher"),
    ("TEXTILE/T_SHIRTS", "Textil / T-Shirts"),
)
# Print positions as the real file names them (PositionCode) with their location texts.
IMPRINT_POSITIONS = (
    ("item front_150x150mm", "150 x 150 mm", {"de": "Artikel Vorderseite (max 150 x 150 mm)",
                                             "fr": "Avant article (max 150 x 150 mm)",
                                             "en": "item front (max 150 x 150 mm)",
                                             "nl": "artikel voorzijde (max 150 x 150 mm)"}),
    ("item back_100x60mm", "100 x 60 mm", {"de": "Artikel Rückseite (max 100 x 60 mm)",
                                          "fr": "Arrière article (max 100 x 60 mm)",
                                          "en": "item back (max 100 x 60 mm)",
                                          "nl": "artikel achterzijde (max 100 x 60 mm)"}),
)
COLOURS = ("black", "navy", "red", "white", "green", "royal blue", "orange", "grey")
SIZES = ("S", "M", "L", "XL", "XXL", "3XL")


@dataclass(frozen=True)
class SupplierSpec:
    code: str  # the A-number, e.g. "A23"
    name: str
    languages: tuple[str, ...]  # nl and de always; en/fr depend on the supplier
    regions: tuple[str, ...]  # price regions: BENELUX, EURO, DEU
    single_child_same_sku: bool = False  # "pattern A": one child whose Sku equals the family's


DEFAULT_SUPPLIERS = (
    SupplierSpec("A23", "XD Connects (Xindao)", ("de", "fr", "en", "nl"), ("BENELUX",)),
    SupplierSpec("A36", "Midocean", ("de", "nl", "en", "fr"), ("EURO", "BENELUX")),
    SupplierSpec("A403", "Top Tex Group", ("de", "nl", "fr"), ("DEU",)),
    SupplierSpec("A73", "Supplier A73", ("de", "nl", "en"), ("EURO",)),
    SupplierSpec("A360", "Bosscher International BV", ("de", "nl"), ("BENELUX",), single_child_same_sku=True),
)


def _hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class FeedModel:
    seed: int = 1
    suppliers: tuple[SupplierSpec, ...] = DEFAULT_SUPPLIERS[:3]
    families_per_supplier: int = 20
    images_per_family: int = 4  # distinct images of one family, plus one image shared supplier-wide
    max_variants: int = 48
    base_url: str = "http://127.0.0.1:8781"  # the server sets its real address before serving
    revisions: dict[str, int] = field(default_factory=dict)
    removed: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        if self.images_per_family < 2:
            raise ValueError("images_per_family must be at least 2 (main image + one colour image)")
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, int], bytes] = {}
        self.by_code = {s.code: s for s in self.suppliers}

    # --- catalogue shape -----------------------------------------------------------
    def all_skus(self, supplier: str | None = None) -> list[str]:
        specs = [self.by_code[supplier]] if supplier else self.suppliers
        return [f"{s.code}-{100000 + i}" for s in specs for i in range(self.families_per_supplier)]

    def live_skus(self, supplier: str | None = None) -> list[str]:
        return [sku for sku in self.all_skus(supplier) if sku not in self.removed]

    def is_live(self, sku: str) -> bool:
        code, _, number = sku.partition("-")
        return (code in self.by_code and number.isdigit()
                and 0 <= int(number) - 100000 < self.families_per_supplier and sku not in self.removed)

    def supplier_of(self, sku: str) -> SupplierSpec:
        return self.by_code[sku.split("-", 1)[0]]

    def revision(self, sku: str) -> int:
        return self.revisions.get(sku, 0)

    def _rng(self, sku: str) -> random.Random:
        return random.Random(f"{self.seed}:{sku}")  # not the revision: the shape stays stable

    def variant_count(self, sku: str) -> int:
        if self.supplier_of(sku).single_child_same_sku:
            return 1
        roll = self._rng(sku).random()
        if roll < 0.70:
            count = 1 + int(roll / 0.70 * 4)  # 1..4
        elif roll < 0.95:
            count = 5 + int((roll - 0.70) / 0.25 * 8)  # 5..12
        else:
            count = 13 + int((roll - 0.95) / 0.05 * 36)  # 13..48
        return max(1, min(self.max_variants, count))

    def image_urls(self, sku: str) -> list[str]:
        """The family's distinct image URLs: index 0 (the main image) changes with each revision."""
        rev = self.revision(sku)
        urls = []
        for k in range(self.images_per_family):
            token = f"{self.seed}:{sku}:{k}:{rev if k == 0 else 0}"
            ext = "png" if k % 2 else "jpg"
            urls.append(f"{IMAGE_HOST_PATH}/{_hex(token)}.{ext}")
        return urls

    def imprint_position_count(self, sku: str) -> int:
        """0, 1 or 2 print positions per variant (the real sample has one on each child)."""
        roll = random.Random(f"{self.seed}:{sku}:imprint").random()
        return 0 if roll < 0.1 else 1 if roll < 0.7 else 2

    def imprint_image_url(self, sku: str, position_code: str, colour: str) -> str:
        """One location image per (position, colour): variants of one colour share it, as sizes do."""
        return f"{IMAGE_HOST_PATH}/{_hex(f'{self.seed}:{sku}:imprint:{position_code}:{colour}')}.png"

    def shared_image_url(self, supplier: str) -> str:
        return f"{IMAGE_HOST_PATH}/{_hex(f'{self.seed}:{supplier}:shared')}.jpg"

    # --- mutations ---------------------------------------------------------------------
    def change_families(self, skus: list[str]) -> None:
        with self._lock:
            for sku in skus:
                self._known(sku)
                self.revisions[sku] = self.revision(sku) + 1

    def remove_families(self, skus: list[str]) -> None:
        with self._lock:
            for sku in skus:
                self._known(sku)
            self.removed.update(skus)

    def restore_families(self, skus: list[str] | None = None) -> None:
        with self._lock:
            if skus is None:
                self.removed.clear()
            else:
                self.removed.difference_update(skus)

    def _known(self, sku: str) -> None:
        code = sku.split("-", 1)[0]
        if code not in self.by_code or sku not in self.all_skus(code):
            raise KeyError(f"unknown family {sku!r}")

    # --- documents ---------------------------------------------------------------------
    def family_bytes(self, sku: str) -> bytes:
        key = (sku, self.revision(sku))
        data = self._cache.get(key)
        if data is None:
            data = json.dumps(self.family_document(sku), ensure_ascii=False).encode()
            self._cache[key] = data
        return data

    def feed_hash(self, sku: str) -> str:
        return hashlib.sha1(self.family_bytes(sku)).hexdigest().upper()

    def family_document(self, sku: str) -> dict:
        spec = self.supplier_of(sku)
        rng = self._rng(sku)
        rev = self.revision(sku)
        kind = rng.randrange(len(CATEGORIES))
        category = CATEGORIES[kind][0]
        base_price = round(rng.uniform(0.5, 40.0), 2) + rev * 0.1
        images = [f"{self.base_url}{u}" for u in self.image_urls(sku)]
        shared = f"{self.base_url}{self.shared_image_url(spec.code)}"
        n_variants = self.variant_count(sku)
        n_colours = min(n_variants, self.images_per_family - 1, len(COLOURS))
        children = []
        for i in range(n_variants):
            colour = COLOURS[i % n_colours]
            size = SIZES[(i // n_colours) % len(SIZES)] if n_variants > n_colours else None
            child_sku = sku if spec.single_child_same_sku else f"{sku}-{i + 1:03d}"
            tiers = 1 + (i + len(sku)) % len(QUANTITIES)
            child = self._child(spec, sku, child_sku, rev, kind, colour, size, base_price + i * 0.01,
                                tiers, images[1 + i % n_colours], [images[0], shared], rng)
            child["ImprintPositions"] = [
                self._imprint_position(spec, code, area, names, f"{self.base_url}{self.imprint_image_url(sku, code, colour)}")
                for code, area, names in IMPRINT_POSITIONS[: self.imprint_position_count(sku)]]
            children.append(child)
        summary = round(min(c["_min"] for c in children), 2)
        for child in children:
            child.pop("_min")
        details = {
            lang: self._details(lang, kind, sku, rev, images[0], [*images, shared], None)
            for lang in spec.languages
        }
        return {
            "ChildProducts": children,
            "ChildHasErrors": False,
            "DefaultProducts": {spec.regions[0]: children[0]["Sku"]},
            "ImprintReferences": None,
            "ProductDetails": details,
            "ProductCosts": None,
            "ProductPriceRegionBased": None,
            "ProductPriceCountryBased": {
                region: self._prices([(QUANTITIES[-1], summary)], [(QUANTITIES[-1], round(summary * 0.7, 2))])
                for region in spec.regions
            },
            "SamplePriceCountryBased": None,
            "NonLanguageDependedProductDetails": self._non_language(category, None, 0, {}),
            "BatteryInformation": None,
            "ImprintPositions": None,
            "Ean": None,
            "VideoUrl": None,
            "Sku": sku,
            "SupplierSku": sku.split("-", 1)[1],
            "ANumber": spec.code,
            "UnstructuredInformation": {"ReleaseDate": "01.05.2025", "Revision": str(rev)},
            "ForbiddenRegions": None,
            "RequiredCertificates": None,
            "ProductCertificates": None,
            "Errors": {},
            "Warnings": {},
        }

    def _child(self, spec, family_sku, child_sku, rev, kind, colour, size, price, tiers, colour_image,
               gallery, rng) -> dict:
        selling = [(q, round(price * (1 - 0.03 * t), 2)) for t, q in enumerate(QUANTITIES[:tiers])]
        buying = [] if rng.random() < 0.2 else [(q, round(p * 0.7, 2)) for q, p in selling]
        config = [{"ConfigurationName": "Color", "ConfigurationNameTranslated": "Color",
                   "ConfigurationValue": colour}]
        if size:
            config.append({"ConfigurationName": "Size", "ConfigurationNameTranslated": "Size",
                           "ConfigurationValue": size})
        dims = {"Weight": 50 + rng.randrange(500), "DimensionsLength": 100 + rng.randrange(300),
                "DimensionsHeight": 10 + rng.randrange(400), "DimensionsWidth": 10 + rng.randrange(200)}
        return {
            "ProductDetails": {
                lang: self._details(lang, kind, family_sku, rev, colour_image, gallery, config)
                for lang in spec.languages
            },
            "ProductCosts": None,
            "ProductPriceRegionBased": None,
            "ProductPriceCountryBased": {region: self._prices(selling, buying) for region in spec.regions},
            "SamplePriceCountryBased": None,
            "NonLanguageDependedProductDetails": self._non_language(category=CATEGORIES[kind][0],
                                                                    colour=colour, weight=dims["Weight"],
                                                                    dims=dims),
            "BatteryInformation": None,
            "ImprintPositions": [],
            "Ean": f"87{rng.randrange(10**10, 10**11)}" if rng.random() < 0.8 else "",
            "VideoUrl": None,
            "Sku": child_sku,
            "SupplierSku": child_sku.split("-", 1)[1],
            "ANumber": spec.code,
            "UnstructuredInformation": {},
            "ForbiddenRegions": None,
            "RequiredCertificates": None,
            "ProductCertificates": None,
            "Errors": {},
            "Warnings": {},
            "_min": min(p for _, p in selling),
        }

    def _imprint_position(self, spec: SupplierSpec, code: str, max_area: str, names: dict[str, str],
                          image_url: str) -> dict:
        image = {"Url": image_url, "Description": None, "FileName": None}
        texts = {lang: {"Images": [image], "Name": names.get(lang, names["en"]), "Description": None}
                 for lang in spec.languages}
        option_texts = {lang: {"Name": "Screen transfer 1 color", "Description": None} for lang in spec.languages}
        return {
            "PositionCode": code,
            "ImprintLocationTexts": texts,
            "UnstructuredInformation": {"MaxPrintArea": max_area},
            "ImprintOptions": [{
                "ChildImprints": None, "PrintColorAsText": None, "Dimension": None,
                "FastEditorNumberOfColors": "1", "ImprintTexts": option_texts,
                "Sku": f"{spec.code}-SCREEN_TRANSFER_OS_1C", "SupplierSku": "SCREEN_TRANSFER_OS_1C",
                "DimensionsHeight": 0, "DimensionsDiameter": 0, "DimensionsWidth": 0, "DimensionsDepth": 0,
                "ImprintType": None, "UnstructuredInformation": None, "ProductPriceRegionBased": None,
                "ProductPriceCountryBased": {region: self._prices([(1, 4.16), (50, 2.89)], []) for region in spec.regions},
                "PrintColor": 0, "ImprintCosts": [], "IsActiveRegionBased": None, "IsActiveCountryBased": None,
                "ImportantInformation": None, "SupplierPrintCode": "Screen Transfer OS",
            }],
        }

    @staticmethod
    def _prices(selling: list[tuple[int, float]], buying: list[tuple[int, float]]) -> dict:
        tier = lambda q, p: {"Price": p, "Quantity": q, "OnRequest": False, "Valuta": "EURO"}  # noqa: E731
        return {
            "RecommendedSellingPrice": [tier(q, p) for q, p in selling],
            "GeneralBuyingPrice": [tier(q, p) for q, p in buying],
            "QuantityIncrements": 1,
            "VatPercentage": 0,
            "MinimumOrderQuantity": selling[0][0],
            "VatSettingId": 1,
        }

    @staticmethod
    def _details(lang, kind, sku, rev, main_image, gallery, config) -> dict:
        name = NAMES.get(lang, NAMES["en"])[kind]
        image = lambda url: {"Url": url, "Description": "", "FileName": f"{sku}__{url[-12:]}"}  # noqa: E731
        return {
            "Name": f"{name} {sku}" + (f" v{rev}" if rev else ""),
            "Description": f"<p>{name} ({lang}) &ndash; {sku}</p>",
            "ShortDescription": None,
            "MetaName": None,
            "MetaDescription": None,
            "MetaKeywords": None,
            "Image": image(main_image),
            "MediaGalleryImages": [image(u) for u in gallery],
            "InformationFiles": [],
            "IsActive": True,
            "ConfigurationFields": config,
            "UnstructuredInformation": {"SupplierMainCategory": CATEGORIES[kind][1]},
            "WebShopInformation": {"Material": {"InformationLabel": "Material", "InformationValue": "rPET"}},
            "PIMV1Information": None,
            "ImportantInformation": None,
        }

    @staticmethod
    def _non_language(category: str, colour: str | None, weight: int, dims: dict) -> dict:
        return {
            "LogoToolImageDefined": None,
            "SearchColor": colour.title() if colour else "Undefined",
            "HexColor": None,
            "Fragile": False,
            "Category": category,
            "SecondaryCategories": [],
            "CountryOfOrigin": "CN" if colour else None,
            "ProductFiltersByGroup": None,
            "Weight": weight,
            "DimensionsLength": dims.get("DimensionsLength", 0),
            "DimensionsHeight": dims.get("DimensionsHeight", 0),
            "DimensionsDiameter": 0,
            "DimensionsWidth": dims.get("DimensionsWidth", 0),
            "DimensionsDepth": 0,
            "Brand": "Sim Collection",
            "USBItem": False,
            "CustomsTariffNumber": None,
        }

    # --- index files -------------------------------------------------------------------
    def import_txt(self, junk_lines: int = 0, bad_hash_lines: dict[str, int] | None = None,
                   duplicate_lines: set[str] | frozenset[str] = frozenset()) -> str:
        """Line 1 links CAT.csv; then one ``<JSON URL>|<hash>`` line per live family.

        Faults: ``junk_lines`` name no supplier; ``bad_hash_lines`` (supplier -> n) are lines of that
        supplier whose hash is unreadable; a family in ``duplicate_lines`` is listed twice."""
        base_url = self.base_url
        lines = [f"{base_url}{PROFILE_PATH}/CAT.csv"]
        for sku in self.live_skus():
            code = sku.split("-", 1)[0]
            line = f"{base_url}{PROFILE_PATH}/{code}/{sku}.json|{self.feed_hash(sku)}"
            lines += [line, line] if sku in duplicate_lines else [line]
        for code, count in sorted((bad_hash_lines or {}).items()):
            lines += [f"{base_url}{PROFILE_PATH}/{code}/{code}-BROKEN{i}.json|not-a-hash" for i in range(count)]
        lines += ["this line is not a feed entry"] * junk_lines
        return "\r\n".join(lines) + "\r\n"

    @staticmethod
    def cat_csv() -> str:
        rows = ["DE;KEY;ICON;IMAGE"] + [f"{de};{key};;" for key, de in CATEGORIES]
        return "\r\n".join(rows) + "\r\n"

    # --- what a correct sync must end up with -------------------------------------------
    def ground_truth(self, supplier: str | None = None) -> dict:
        families = variants = tiers = imprint_positions = 0
        images: set[str] = set()
        imprint_images: set[str] = set()
        for sku in self.live_skus(supplier):
            doc = self.family_document(sku)
            families += 1
            variants += len(doc["ChildProducts"])
            for child in doc["ChildProducts"]:
                for region in child["ProductPriceCountryBased"].values():
                    tiers += len(region["RecommendedSellingPrice"]) + len(region["GeneralBuyingPrice"])
            images.update(f"{self.base_url}{u}" for u in self.image_urls(sku))
            images.add(f"{self.base_url}{self.shared_image_url(self.supplier_of(sku).code)}")
            for child in doc["ChildProducts"]:
                for position in child["ImprintPositions"]:
                    imprint_positions += 1
                    imprint_images.update(image["Url"] for text in position["ImprintLocationTexts"].values()
                                          for image in text["Images"])
        return {"families": families, "variants": variants, "price_tiers": tiers,
                "imprint_positions": imprint_positions, "imprint_image_urls": imprint_images,
                "image_urls": images | imprint_images}
