"""Is this one complete image? Pillow reads the header, verifies the structure, then decodes every pixel.

A body cut short under a 200 starts with the right magic bytes, so only a full decode catches
it. The pixel count is checked from the header before anything is decoded, so a small file that
inflates to gigapixels (a decompression bomb) is refused without the memory it would take.
"""
from __future__ import annotations

import io
import warnings

from PIL import Image, UnidentifiedImageError

from app.catalogue.errors import BadImage, CorruptImage

# Pillow format -> (content type, file extension); Image.open tries only these decoders.
PNG_END = b"IEND\xaeB`\x82"  # the IEND chunk's type and CRC: Pillow decodes a PNG that lost only these
FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "GIF": ("image/gif", "gif"),
           "WEBP": ("image/webp", "webp")}


def check_image(data: bytes, url: str, *, max_pixels: int) -> tuple[str, str]:
    """(content type, extension) of a complete image; BadImage when it is no image of ours, CorruptImage
    when it does not decode completely (truncated, damaged) or exceeds ``max_pixels``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=tuple(FORMATS)) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise CorruptImage(f"{url}: {width}x{height} pixels exceeds the {max_pixels}-pixel bound")
                found = FORMATS[image.format or ""]
                image.verify()  # structure and checksums; the image is unusable afterwards
            with Image.open(io.BytesIO(data), formats=tuple(FORMATS)) as image:
                image.load()  # every pixel: a truncated scan fails here
            if found[1] == "png" and PNG_END not in data[-64:]:
                raise OSError("no IEND chunk at the end: the file was cut short")
    except UnidentifiedImageError:
        raise BadImage(f"{url}: not a JPEG, PNG, GIF or WebP file (starts with {data[:8]!r})") from None
    except CorruptImage:
        raise
    except (OSError, SyntaxError, ValueError, EOFError, KeyError, IndexError, Image.DecompressionBombWarning,
            Image.DecompressionBombError) as exc:
        raise CorruptImage(f"{url}: does not decode completely ({len(data)} bytes): "
                           f"{type(exc).__name__}: {exc}") from None
    return found
