"""ABI ``SignedKeyRequestMetadata``: tuple(uint256 requestFid, address requestSigner, bytes signature, uint256 deadline).

It is the ``metadata`` of an on-chain signer add; ``requestFid`` names the client app that
requested the key, which is how an indexer discovers a client app's users.
"""
from __future__ import annotations


def _word(n: int) -> bytes:
    return n.to_bytes(32, "big")


def encode(request_fid: int, request_signer: bytes, signature: bytes, deadline: int) -> bytes:
    padded = signature + b"\0" * (-len(signature) % 32)
    return (_word(0x20) + _word(request_fid) + b"\0" * 12 + request_signer + _word(0x80)
            + _word(deadline) + _word(len(signature)) + padded)


def decode(raw: bytes) -> dict:
    base = int.from_bytes(raw[0:32], "big")
    head = raw[base:]
    offset = int.from_bytes(head[64:96], "big")
    length = int.from_bytes(head[offset:offset + 32], "big")
    return {
        "requestFid": int.from_bytes(head[0:32], "big"),
        "requestSigner": "0x" + head[44:64].hex(),
        "signature": head[offset + 32:offset + 32 + length],
        "deadline": int.from_bytes(head[96:128], "big"),
    }
