"""Shape signatures of hub JSON: key order, nesting and value encodings, not values."""
import base64
import re

B64_KEYS = {"signature", "targetHash", "claimSignature", "metadata", "ethSignature"}
ENUM_KEYS = {"type", "hashScheme", "signatureScheme", "network", "eventType", "protocol", "storeType"}
HEX = re.compile(r"^0x[0-9a-f]*$")


def leaf(key, value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    assert isinstance(value, str), (key, value)
    if key in B64_KEYS:
        return f"b64[{len(base64.b64decode(value, validate=True))}]"
    if HEX.match(value):
        return f"hex[{(len(value) - 2) // 2}]"
    if key in ENUM_KEYS:
        return "enum:" + value
    return "str"


def signature(value, key=None):
    if isinstance(value, dict):
        return ("{", tuple((k, signature(v, k)) for k, v in value.items()))
    if isinstance(value, list):
        return ("[", signature(value[0], key)) if value else ("[]",)
    return leaf(key, value)


def key_paths(value, prefix=""):
    """Ordered key paths, e.g. data.castAddBody.text."""
    out = []
    if isinstance(value, dict):
        for k, v in value.items():
            out.append(prefix + k)
            out.extend(key_paths(v, prefix + k + "."))
    elif isinstance(value, list) and value:
        out.extend(key_paths(value[0], prefix + "[]."))
    return out
