"""What the read API must answer, derived from the hub simulator's ground truth: the active
messages the indexer stores (every message of a target; a non-target's message only when it
concerns a target), and the lists, counts and trees they imply."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from simulators.hub import protobuf as pb
from simulators.hub.ground_truth import GroundTruth, fid_truth

FARCASTER_EPOCH = datetime(2021, 1, 1, tzinfo=UTC)


def when(m) -> datetime:  # type: ignore[no-untyped-def]
    return FARCASTER_EPOCH + timedelta(seconds=m.timestamp)


def hx(h: bytes) -> str:
    return "0x" + h.hex()


def newest_first(messages) -> list[str]:  # type: ignore[no-untyped-def]
    return [hx(m.hash) for m in sorted(messages, key=lambda m: (m.timestamp, m.hash), reverse=True)]


@dataclass
class Expected:
    targets: set[int]
    casts: dict[bytes, object] = field(default_factory=dict)      # hash -> active CAST_ADD
    reactions: list = field(default_factory=list)                 # active REACTION_ADD
    follows: list = field(default_factory=list)                   # active LINK_ADD follow
    verifications: dict[int, list] = field(default_factory=lambda: defaultdict(list))
    removed: int = 0   # stored casts/reactions/links deleted, pruned or revoked (the test needs some)

    def user_casts(self, fid: int, replies: bool) -> list[str]:
        return newest_first(m for m in self.casts.values()
                            if m.fid == fid and (m.body["parent_cast_id"] is not None) == replies)

    def user_reactions(self, fid: int) -> list[str]:
        return newest_first(m for m in self.reactions if m.fid == fid and m.body["type"] in (1, 2))

    def following(self, fid: int) -> list[int]:
        ordered = sorted((m for m in self.follows if m.fid == fid), key=lambda m: (m.timestamp, m.hash), reverse=True)
        return [m.body["target_fid"] for m in ordered]

    def followers(self, fid: int) -> list[int]:
        ordered = sorted((m for m in self.follows if m.body["target_fid"] == fid),
                         key=lambda m: (m.timestamp, m.hash), reverse=True)
        return [m.fid for m in ordered]

    def feed(self, fid: int) -> list[str]:
        followed = set(self.following(fid))
        return newest_first(m for m in self.casts.values() if m.fid in followed)

    def channel(self, url: str) -> list[str]:
        return newest_first(m for m in self.casts.values() if m.body["parent_url"] == url)

    def counts(self, cast_hash: bytes) -> dict[str, int]:
        likes = sum(1 for m in self.reactions if m.body["type"] == 1 and _target(m) == cast_hash)
        recasts = sum(1 for m in self.reactions if m.body["type"] == 2 and _target(m) == cast_hash)
        return {"likes": likes, "recasts": recasts, "replies": len(self.children(cast_hash))}

    def children(self, cast_hash: bytes) -> list:
        return sorted((m for m in self.casts.values() if _parent(m) == cast_hash), key=lambda m: (m.timestamp, m.hash))

    def tree(self, cast_hash: bytes, depth: int) -> list:
        """[(hash, subtree)] of active replies, oldest first, to ``depth`` levels."""
        if depth == 0:
            return []
        return [(hx(m.hash), self.tree(m.hash, depth - 1)) for m in self.children(cast_hash)]

    def search(self, word: str) -> set[str]:
        return {hx(m.hash) for m in self.casts.values() if word in m.body["text"].lower().split()}

    def engagement(self, start: datetime, end: datetime) -> dict[str, int]:
        """Active likes, recasts and replies made in (start, end], per active stored cast."""
        out: dict[str, int] = defaultdict(int)
        for m in self.reactions:
            t = _target(m)
            if m.body["type"] in (1, 2) and t in self.casts and start < when(m) <= end:
                out[hx(t)] += 1
        for m in self.casts.values():
            p = _parent(m)
            if p in self.casts and start < when(m) <= end:
                out[hx(p)] += 1
        return dict(out)


def _target(m) -> bytes | None:  # type: ignore[no-untyped-def]
    t = m.body["target_cast_id"]
    return t[1] if t else None


def _parent(m) -> bytes | None:  # type: ignore[no-untyped-def]
    p = m.body["parent_cast_id"]
    return p[1] if p else None


def _concerns(m, targets: set[int]) -> bool:  # type: ignore[no-untyped-def]
    """A non-target's message the indexer keeps as context (app.farcaster.relevance)."""
    b = m.body
    if m.type == pb.CAST_ADD:
        return bool((b["parent_cast_id"] and b["parent_cast_id"][0] in targets) or set(b["mentions"]) & targets)
    if m.type == pb.REACTION_ADD:
        return bool(b["target_cast_id"] and b["target_cast_id"][0] in targets)
    if m.type == pb.LINK_ADD:
        return b["target_fid"] in targets
    return False


def expected(net, truth: GroundTruth) -> Expected:  # type: ignore[no-untyped-def]
    out = Expected(set(truth.targets))
    for fid in sorted(set(truth.fids) | set(net.registered)):
        ft = truth.fids.get(fid) or fid_truth(net, fid, truth.position)
        st = net.fid_state(fid)
        is_target = fid in truth.targets
        for h in ft.active:
            m = st.messages[bytes.fromhex(h[2:])]
            if not is_target and not _concerns(m, truth.targets):
                continue
            if m.type == pb.CAST_ADD:
                out.casts[m.hash] = m
            elif m.type == pb.REACTION_ADD:
                out.reactions.append(m)
            elif m.type == pb.LINK_ADD and m.body["type"] == "follow":
                out.follows.append(m)
            elif m.type == pb.VERIFICATION_ADD_ETH_ADDRESS and is_target:
                out.verifications[fid].append("0x" + bytes(m.body["address"]).hex())
        if is_target:
            gone = set(ft.deleted) | ft.pruned | ft.revoked
            out.removed += sum(1 for h in gone if ft.types[h] in ("MESSAGE_TYPE_CAST_ADD", "MESSAGE_TYPE_REACTION_ADD"))
    return out
