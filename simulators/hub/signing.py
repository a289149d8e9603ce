"""Message hashing (BLAKE3-20) and Ed25519 signing, with deterministic per-fid keys."""
from __future__ import annotations

import blake3
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def message_hash(data_bytes: bytes) -> bytes:
    return blake3.blake3(data_bytes).digest(length=20)


def derive(seed: int, *parts, length: int = 32) -> bytes:
    """Deterministic pseudo-random bytes for (seed, parts): keys, addresses, tx hashes."""
    label = "/".join(str(p) for p in (seed, *parts)).encode()
    return blake3.blake3(label).digest(length=length)


class Signer:
    """An Ed25519 app key. Signing costs ~25 µs, so callers sign lazily and cache."""

    __slots__ = ("private_key", "public_key")

    def __init__(self, private_bytes: bytes):
        self.private_key = Ed25519PrivateKey.from_private_bytes(private_bytes)
        self.public_key = self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    def sign(self, hash_: bytes) -> bytes:
        return self.private_key.sign(hash_)


def verify_signature(public_key: bytes, signature: bytes, hash_: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, hash_)
        return True
    except InvalidSignature:
        return False
