"""Hub state: per-fid stores (CRDT sets), lazily materialised from the generator, plus the
cross-fid indexes behind castsByParent / castsByMention / reactionsByCast / linksByTargetFid.

Every state change is stamped with the stream position (number of blocks revealed per shard)
so the ground truth can be stated at any earlier position.
"""
from __future__ import annotations

import bisect
import threading
from collections import OrderedDict

from . import protobuf as pb
from .generator import Generator, NetworkConfig, Plan, shard_of
from .model import ACTIVE, DELETED, Message

_KEY = lambda m: m.ts_hash  # noqa: E731


class SortedMessages:
    """Messages ordered by tsHash (the order a hub's store iterates)."""

    __slots__ = ("keys", "items")

    def __init__(self):
        self.keys: list[bytes] = []
        self.items: list[Message] = []

    def add(self, m: Message):
        k = m.ts_hash
        i = bisect.bisect_left(self.keys, k)
        if i < len(self.keys) and self.keys[i] == k:
            return
        self.keys.insert(i, k)
        self.items.insert(i, m)

    def discard(self, m: Message):
        i = bisect.bisect_left(self.keys, m.ts_hash)
        if i < len(self.keys) and self.items[i] is m:
            del self.keys[i]
            del self.items[i]

    def page(self, after: bytes | None, size: int, reverse: bool):
        """Up to ``size`` items strictly after ``after`` (a key) in the given direction."""
        if not reverse:
            i = 0 if after is None else bisect.bisect_right(self.keys, after)
            return self.items[i:i + size]
        j = len(self.keys) if after is None else bisect.bisect_left(self.keys, after)
        return self.items[max(0, j - size):j][::-1]

    def __len__(self):
        return len(self.items)


def crdt_key(m: Message):
    b = m.body
    if m.type == pb.CAST_ADD:
        return ("cast", m.hash)
    if m.type == pb.CAST_REMOVE:
        return ("cast", b["target_hash"])
    if m.type in (pb.REACTION_ADD, pb.REACTION_REMOVE):
        return ("reaction", b["type"], b["target_cast_id"], b["target_url"])
    if m.type in (pb.LINK_ADD, pb.LINK_REMOVE):
        return ("link", b["type"], b["target_fid"])
    if m.type == pb.USER_DATA_ADD:
        return ("user_data", b["type"])
    if m.type in (pb.VERIFICATION_ADD_ETH_ADDRESS, pb.VERIFICATION_REMOVE):
        return ("verification", b["address"])
    raise ValueError(m.type)


STORE_OF = {pb.CAST_ADD: "casts", pb.CAST_REMOVE: "casts", pb.REACTION_ADD: "reactions",
            pb.LINK_ADD: "links", pb.USER_DATA_ADD: "user_data", pb.VERIFICATION_ADD_ETH_ADDRESS: "verifications"}


class FidState:
    def __init__(self, fid: int, shard: int):
        self.fid = fid
        self.shard = shard
        self.signers = []           # Signer objects, index = key index
        self.signer_active = []
        self.messages: dict[bytes, Message] = {}   # every message ever, incl. deleted/pruned/revoked
        self.stores = {name: SortedMessages() for name in ("casts", "reactions", "links", "user_data", "verifications")}
        self.crdt: dict = {}        # key -> current message (add or remove)
        self.onchain = []           # OnChainEvent, ordered by (block, log index)
        self.proofs = []
        self.born: dict[bytes, int] = {}       # hash -> stream position of arrival (0 = genesis)
        self.changes: dict[bytes, list] = {}   # hash -> [(position, state, deleted_by)]
        self.onchain_born: dict[int, int] = {}
        self.gasless: list[dict] = []  # KEY_ADD signers: signer, app, nonce, ttl, scopes, added_at, message, active
        self.user_nonce = 0
        self.full_stores: set[str] = set()  # stores that reached their limit (the hub pruned there)
        self.dirty = False

    def active_store(self, name: str) -> SortedMessages:
        return self.stores[name]


class Network:
    """A simulated Farcaster network. Thread-safe through ``lock`` (coarse, held briefly)."""

    def __init__(self, config: NetworkConfig | None = None, *, plan: Plan | None = None, cache_fids: int = 20000, **kw):
        self.config = config or NetworkConfig(**kw)
        self.plan = plan or Plan(self.config)
        self.gen = Generator(self.plan)
        self.lock = threading.RLock()
        self.num_shards = self.config.num_shards
        self.cache_fids = cache_fids
        self._pinned: dict[int, FidState] = {}
        self._lru: OrderedDict[int, FidState] = OrderedDict()
        all_fids = self.plan.fids + self.plan.reserve_fids
        self._shard_of = [0] + [shard_of(f, self.num_shards) for f in all_fids]
        # registered fids per shard (sorted); the stream appends fids it registers
        self.shard_fids = {s: [f for f in self.plan.fids if self._shard_of[f] == s] for s in range(1, self.num_shards + 1)}
        self.shard_reserve = {s: [f for f in self.plan.reserve_fids if self._shard_of[f] == s]
                              for s in range(1, self.num_shards + 1)}
        self.registered: dict[int, int] = {}   # fid registered by the stream -> position
        self.position = 0
        self.indexes = None          # cross-fid indexes, built on first use
        self.signer_adds: list[tuple] = []   # (position, fid, app_fid) for signer adds made by the stream
        self.fname_owners: dict[str, int] = {}   # fnames claimed during the stream
        self.extra_messages = 0
        from .stream import Stream   # local import: stream depends on network
        self.stream = Stream(self)

    # -- fid state -------------------------------------------------------------------------
    def shard_of(self, fid: int) -> int:
        return self._shard_of[fid]

    def has_fid(self, fid: int) -> bool:
        return 1 <= fid <= self.config.num_fids or fid in self.registered

    def register(self, fid: int, position: int) -> FidState:
        """A reserve fid signs up (ID_REGISTER in the stream)."""
        self.registered[fid] = position
        shard = self.shard_of(fid)
        self.shard_reserve[shard].remove(fid)
        bisect.insort(self.shard_fids[shard], fid)
        st = self.fid_state(fid)
        self.pin(st)
        return st

    def fid_state(self, fid: int) -> FidState:
        with self.lock:
            st = self._pinned.get(fid)
            if st is not None:
                return st
            st = self._lru.get(fid)
            if st is not None:
                self._lru.move_to_end(fid)
                return st
            st = self._materialize(fid)
            if self.indexes is not None:
                self._pinned[fid] = st
            else:
                self._lru[fid] = st
                if len(self._lru) > self.cache_fids:
                    self._lru.popitem(last=False)   # pristine states regenerate identically
            return st

    def pin(self, st: FidState):
        """Keep a state that the stream modified (it can no longer be regenerated)."""
        if not st.dirty:
            st.dirty = True
            self._lru.pop(st.fid, None)
            self._pinned[st.fid] = st

    def _materialize(self, fid: int) -> FidState:
        hist = self.gen.build(fid)
        st = FidState(fid, self.shard_of(fid))
        st.signers = list(hist.signers)
        st.signer_active = [True] * len(st.signers)
        st.onchain = sorted(hist.onchain, key=lambda e: e.sort_key)
        st.proofs = list(hist.proofs)
        winners = {}
        for m in hist.messages:
            st.messages[m.hash] = m
            st.born[m.hash] = 0
            if m.state == ACTIVE:
                winners[crdt_key(m)] = m
                store = STORE_OF.get(m.type)
                if store:
                    st.stores[store].add(m)
            else:
                st.changes[m.hash] = [(0, m.state, m.deleted_by)]
        st.crdt = winners
        return st

    # -- mutations (called by the stream with the lock held) -------------------------------
    def merge(self, st: FidState, m: Message, position: int) -> list[Message]:
        """Merge a message that wins its CRDT key; returns the messages it displaced."""
        self.pin(st)
        key = crdt_key(m)
        deleted = []
        prev = st.crdt.get(key)
        if prev is not None and prev.state == ACTIVE:
            self._set_state(st, prev, DELETED, position, m.hash)
            deleted.append(prev)
        st.crdt[key] = m
        st.messages[m.hash] = m
        st.born[m.hash] = position
        store = STORE_OF.get(m.type)
        if store:
            st.stores[store].add(m)
            self._index(m, True)
        self.extra_messages += 1 - len(deleted)
        return deleted

    def drop(self, st: FidState, m: Message, state: str, position: int):
        """Prune or revoke an active message."""
        self.pin(st)
        if st.crdt.get(crdt_key(m)) is m:
            del st.crdt[crdt_key(m)]
        self._set_state(st, m, state, position, None)
        self.extra_messages -= 1

    def _set_state(self, st, m, state, position, by):
        m.state, m.deleted_by = state, by
        st.changes.setdefault(m.hash, []).append((position, state, by))
        store = STORE_OF.get(m.type)
        if store:
            st.stores[store].discard(m)
            self._index(m, False)

    # -- cross-fid indexes -----------------------------------------------------------------
    def ensure_indexes(self):
        """Materialise every fid once and index replies, mentions, reactions and followers.
        Cheap for test-sized networks; at 100k fids it takes minutes and pins everything."""
        with self.lock:
            if self.indexes is not None:
                return self.indexes
            self.indexes = {"parent": {}, "mention": {}, "reaction": {}, "follower": {}}
            for fid in self.plan.fids:
                st = self.fid_state(fid)
                self._lru.pop(fid, None)
                self._pinned[fid] = st
                for name in ("casts", "reactions", "links"):
                    for m in st.stores[name].items:
                        self._index(m, True)
            return self.indexes

    def _index(self, m: Message, add: bool):
        idx = self.indexes
        if idx is None:
            return
        keys = []
        b = m.body
        if m.type == pb.CAST_ADD:
            if b["parent_cast_id"] is not None:
                keys.append(("parent", b["parent_cast_id"]))
            elif b["parent_url"] is not None:
                keys.append(("parent", b["parent_url"]))
            keys.extend(("mention", f) for f in set(b["mentions"]))
        elif m.type == pb.REACTION_ADD and b["target_cast_id"] is not None:
            keys.append(("reaction", b["target_cast_id"]))
        elif m.type == pb.REACTION_ADD:
            keys.append(("reaction", b["target_url"]))
        elif m.type == pb.LINK_ADD:
            keys.append(("follower", b["target_fid"]))
        for name, k in keys:
            lst = idx[name].get(k)
            if lst is None:
                lst = idx[name][k] = SortedMessages()
            (lst.add if add else lst.discard)(m)

    # -- stream shortcuts ------------------------------------------------------------------
    def advance(self, blocks: int = 1) -> int:
        return self.stream.advance(blocks)

    def ground_truth(self, roots=(), client_apps=(), at: int | None = None):
        from .ground_truth import compute
        return compute(self, roots, client_apps, at)

    @property
    def total_messages(self) -> int:
        return self.plan.total_messages + self.extra_messages
