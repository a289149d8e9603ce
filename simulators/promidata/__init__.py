"""A Promidata feed simulator: Import.txt, CAT.csv, product-family JSONs and image files on 127.0.0.1.

The documents follow the structure of the real family file (PascalCase keys, ``ChildProducts``,
per-language ``ProductDetails``, ``ProductPriceCountryBased`` by region) so the catalogue
pipeline runs against the shapes it meets in production.
"""
from .model import FeedModel, SupplierSpec
from .server import PromidataServer

__all__ = ["FeedModel", "PromidataServer", "SupplierSpec"]
