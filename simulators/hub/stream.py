"""The live event stream: one block per data shard per tick, Snapchain event ids
``height << 14 | seq`` (BLOCK_CONFIRMED at seq 0, ``totalEvents`` counting itself), retention.

Block contents are drawn from an RNG seeded by (seed, shard, height) and only touch fids of
that shard, so shards are independent and replaying N ticks always yields the same state.
Simulated block time is one second per block whatever the reveal rate, as on Snapchain.
"""
from __future__ import annotations

import bisect
import random

from . import protobuf as pb
from .generator import CHANNELS, UNICODE_WORDS, WORDS, cast_body, cast_text
from . import key_metadata
from .model import (ACTIVE, BLOCK_CONFIRMED, MERGE_MESSAGE, MERGE_ON_CHAIN_EVENT, MERGE_USERNAME_PROOF,
                    PRUNE_MESSAGE, PRUNED, RAW, REVOKE_MESSAGE, REVOKED, HubEvent, Message, UsernameProof)
from .signing import derive

SEQ_BITS = 14
# What removing a signer does to the messages it signed:
#   "keep"   - Snapchain since engine V14 (mainnet 2025-10-29, #714): nothing; the hub only refuses new ones
#   "revoke" - Snapchain before V14: every active message it signed is revoked (REVOKE_MESSAGE events)
#   "hubble" - Hubble 1.19: revokes like "revoke"
REVOCATION_RULES = ("keep", "revoke", "hubble")
GASLESS_SIGNER_LIMIT = 1000  # active gasless keys per fid
MAX_SEQ = (1 << SEQ_BITS) - 1
ACTIONS = [("cast", 30), ("reaction", 22), ("follow", 10), ("unfollow", 5), ("cast_remove", 5),
           ("reaction_remove", 4), ("user_data", 6), ("verification", 2), ("verification_remove", 2), ("prune", 4),
           ("signer_add", 4), ("signer_remove", 1), ("storage_rent", 2), ("username_proof", 1),
           ("register", 2)]
_ACTION_NAMES = [a for a, _ in ACTIONS]
_ACTION_CUM = []
for _a, _w in ACTIONS:
    _ACTION_CUM.append((_ACTION_CUM[-1] if _ACTION_CUM else 0) + _w)


class ShardLog:
    def __init__(self, shard: int, base_height: int):
        self.shard = shard
        self.base_height = base_height
        self.height = base_height - 1      # last revealed block
        self.ids: list[int] = []
        self.events: list[HubEvent] = []
        self.block_starts: list[tuple[int, int]] = []   # (position, index of BLOCK_CONFIRMED)
        self.start = 0                     # index of the oldest retained event
        self.total_events = 0

    def retained(self):
        return self.ids[self.start:]


class Stream:
    def __init__(self, network):
        self.net = network
        cfg = network.config
        r = random.Random(cfg.seed)
        bases = cfg.base_heights or tuple(r.randrange(1_000_000, 9_000_000) for _ in range(cfg.num_shards))
        self.shards = {s: ShardLog(s, bases[s - 1]) for s in range(1, cfg.num_shards + 1)}
        self.events_per_block = cfg.events_per_block
        self.empty_block_ratio = cfg.empty_block_ratio
        self.retention_seconds = cfg.retention_seconds
        self.revocation = cfg.extra.get("revocation", "keep")
        self.quiet = False                        # True: blocks carry only scripted events
        self.scripts: dict[int, list] = {}        # shard -> actions for its next block: fn(BlockBuilder)
        self.hubble_events: list[HubEvent] = []   # single Hubble-style stream across shards
        self.hubble_ids: list[int] = []
        self.hubble_start = 0
        self._hubble_last = 0
        # Stream actors: the most active fids of each shard (a minority makes most of the
        # traffic), weighted by activity, plus fids that register during the stream.
        self._actors, self._shard_cum = {}, {}
        activity = network.plan.activity
        for s, fids in network.shard_fids.items():
            actors = sorted(sorted(fids, key=lambda f: (-activity[f - 1], f))[: cfg.stream_active_fids])
            acc, cum = 0.0, []
            for f in actors:
                acc += float(activity[f - 1])
                cum.append(acc)
            self._actors[s], self._shard_cum[s] = actors, cum

    # -- time ------------------------------------------------------------------------------
    def block_timestamp(self, position: int) -> int:
        return self.net.config.genesis_timestamp + position

    def max_height(self, shard: int) -> int:
        return max(self.shards[shard].height, 0)

    # -- producing -------------------------------------------------------------------------
    def advance(self, blocks: int = 1) -> int:
        with self.net.lock:
            for _ in range(blocks):
                self.net.position += 1
                for shard in self.shards:
                    self._produce(shard)
            self._apply_retention()
            return self.net.position

    def _produce(self, shard: int):
        log = self.shards[shard]
        net, pos = self.net, self.net.position
        log.height += 1
        height = log.height
        ts = self.block_timestamp(pos)
        r = random.Random(int.from_bytes(derive(net.config.seed, "block", shard, height, length=8), "big"))
        payloads = []
        scripted = self.scripts.pop(shard, None)
        if scripted:
            builder = BlockBuilder(net, shard, pos, ts, r, self._actors[shard], self._shard_cum[shard])
            for action in scripted:
                action(builder)
            payloads = builder.out
        elif not self.quiet and self._shard_cum[shard] and r.random() >= self.empty_block_ratio:
            n = r.randint(1, max(1, int(2 * self.events_per_block) - 1))
            builder = BlockBuilder(net, shard, pos, ts, r, self._actors[shard], self._shard_cum[shard])
            for _ in range(n):
                builder.step()
                if len(builder.out) >= MAX_SEQ - 64:
                    break
            payloads = builder.out
        first = height << SEQ_BITS
        block_hash = derive(net.config.seed, "blockhash", shard, height)
        confirmed = HubEvent(first, BLOCK_CONFIRMED, {
            "block_number": height, "shard": shard, "timestamp": ts, "block_hash": block_hash,
            "total_events": len(payloads) + 1}, height, shard)
        log.block_starts.append((pos, len(log.events)))
        log.ids.append(first)
        log.events.append(confirmed)
        hubble_ms = ts * 1000 + shard * 100
        for seq, (etype, payload) in enumerate(payloads, start=1):
            ev = HubEvent(first | seq, etype, payload, height, shard)
            # Hubble ids: (ms since Farcaster epoch) << 12 | seq within that ms, one stream for all shards
            ev.hubble_id = self._hubble_last = max(hubble_ms << 12, self._hubble_last + 1)
            log.ids.append(ev.id)
            log.events.append(ev)
            self.hubble_ids.append(ev.hubble_id)
            self.hubble_events.append(ev)
        log.total_events += len(payloads) + 1

    def script(self, shard: int, action) -> None:
        """Run ``action(builder)`` in the next block of ``shard`` (after which the block has
        only scripted events). Builder actions: follow, cast_remove, key_add, key_remove,
        signer_add, signer_remove, raw_event."""
        with self.net.lock:
            self.scripts.setdefault(shard, []).append(action)

    def _apply_retention(self):
        oldest_pos = self.net.position - self.retention_seconds   # one block per simulated second
        for log in self.shards.values():
            drop_to = None
            while log.block_starts and log.block_starts[0][0] <= oldest_pos:
                log.block_starts.pop(0)
                drop_to = log.block_starts[0][1] if log.block_starts else len(log.events)
            if drop_to is not None:
                log.start = drop_to
                if log.start > 4096:    # compact now and then
                    del log.ids[:log.start], log.events[:log.start]
                    log.block_starts = [(p, i - log.start) for p, i in log.block_starts]
                    log.start = 0
        if self.hubble_events:
            cutoff_ms = (self.block_timestamp(max(int(oldest_pos), 0)) + 1) * 1000
            i = bisect.bisect_left(self.hubble_ids, cutoff_ms << 12, self.hubble_start)
            if oldest_pos > 0 and i > self.hubble_start:
                self.hubble_start = i
                if self.hubble_start > 4096:
                    del self.hubble_ids[:self.hubble_start], self.hubble_events[:self.hubble_start]
                    self.hubble_start = 0

    # -- reading ---------------------------------------------------------------------------
    def events(self, shard: int, from_id: int = 0, size: int = 1000, stop_id: int | None = None) -> list[HubEvent]:
        with self.net.lock:
            log = self.shards[shard]
            i = max(bisect.bisect_left(log.ids, from_id), log.start)
            out = log.events[i:i + size]
        if stop_id is not None:
            out = [e for e in out if e.id < stop_id]
        return out

    def event_by_id(self, shard: int, event_id: int) -> HubEvent | None:
        with self.net.lock:
            log = self.shards[shard]
            i = bisect.bisect_left(log.ids, event_id)
            if i >= log.start and i < len(log.ids) and log.ids[i] == event_id:
                return log.events[i]
        return None

    def hubble_page(self, from_id: int = 0, size: int = 100) -> list[HubEvent]:
        with self.net.lock:
            i = max(bisect.bisect_left(self.hubble_ids, from_id), self.hubble_start)
            return self.hubble_events[i:i + size]


class BlockBuilder:
    """Draws the data events of one block, applying each to the network as it goes."""

    def __init__(self, net, shard, position, ts, r: random.Random, actors, cum):
        self.net, self.shard, self.pos, self.ts, self.r, self.cum = net, shard, position, ts, r, cum
        self.fids = actors
        self.new_fids = [f for f in net.registered if net.shard_of(f) == shard]
        self.gen = net.gen
        self.out: list[tuple] = []

    def step(self):
        r = self.r
        fid = self.fids[bisect.bisect_left(self.cum, r.random() * self.cum[-1])]
        if self.new_fids and r.random() < 0.1:   # freshly registered users are active too
            fid = r.choice(self.new_fids)
        st = self.net.fid_state(fid)
        action = _ACTION_NAMES[bisect.bisect_right(_ACTION_CUM, r.randrange(_ACTION_CUM[-1]))]
        getattr(self, "_" + action)(st)

    # helpers
    def _signer(self, st):
        active = [s for s, ok in zip(st.signers, st.signer_active) if ok]
        return active[0] if self.r.random() < 0.6 else self.r.choice(active)

    def _merge(self, st, mtype, body, signer=None):
        m = Message(st.fid, mtype, self.ts, body, signer or self._signer(st))
        deleted = self.net.merge(st, m, self.pos)
        m.observed = True
        for d in deleted:
            d.observed = True
        self.out.append((MERGE_MESSAGE, (m, deleted)))
        return m

    # actions
    def _cast(self, st):
        r = self.r
        follows = [m.body["target_fid"] for m in st.stores["links"].items[:50]]
        kind = r.random()
        if kind < 0.4:
            tgt = self.gen.pick_root_cast(r, follows)
            if tgt is not None:
                text, mentions, positions = cast_text(r, [tgt[0]] if r.random() < 0.5 else [])
                self._merge(st, pb.CAST_ADD, cast_body(text, mentions, positions, parent_cast_id=(tgt[0], tgt[2])))
                return
        mention = [self.net.plan.popular_fid(r) for _ in range(r.choice((0, 0, 1, 2)))]
        long = r.random() < 0.05
        text, mentions, positions = cast_text(r, mention, long)
        if r.random() < 0.1:
            text = text[:300] + " " + r.choice(UNICODE_WORDS)
            text = text.encode("utf-8")[:320].decode("utf-8", "ignore") if not long else text
            positions = [p for p in positions if p <= len(text.encode("utf-8"))]
            mentions = mentions[:len(positions)]
        embeds = [("url", f"https://example.com/live/{r.randrange(10**9)}")] if r.random() < 0.25 else []
        self._merge(st, pb.CAST_ADD, cast_body(text, mentions, positions, embeds=embeds,
                                               parent_url=r.choice(CHANNELS) if r.random() < 0.15 else None,
                                               ctype=1 if long else 0))

    def _reaction(self, st):
        r = self.r
        follows = [m.body["target_fid"] for m in st.stores["links"].items[:50]]
        rtype = pb.REACTION_LIKE if r.random() < 0.75 else pb.REACTION_RECAST
        tgt = self.gen.pick_root_cast(r, follows)
        body = ({"type": rtype, "target_cast_id": (tgt[0], tgt[2]), "target_url": None} if tgt else
                {"type": rtype, "target_cast_id": None, "target_url": r.choice(CHANNELS)})
        cur = st.crdt.get(("reaction", rtype, body["target_cast_id"], body["target_url"]))
        if cur is not None and (cur.timestamp >= self.ts or cur.type == pb.REACTION_ADD):
            return self._cast(st)
        self._merge(st, pb.REACTION_ADD, body)

    def _follow(self, st):
        target = self.net.plan.popular_fid(self.r)
        cur = st.crdt.get(("link", "follow", target))
        if target == st.fid or (cur is not None and (cur.timestamp >= self.ts or cur.type == pb.LINK_ADD)):
            return
        self._merge(st, pb.LINK_ADD, {"type": "follow", "display_timestamp": None, "target_fid": target})

    def _remove_one(self, st, store, mtype, body_fn):
        items = [m for m in st.stores[store].items if m.timestamp < self.ts and
                 (mtype != pb.CAST_REMOVE or m.type == pb.CAST_ADD)]
        if not items:
            return False
        target = self.r.choice(items)
        self._merge(st, mtype, body_fn(target))
        return True

    def _unfollow(self, st):
        self._remove_one(st, "links", pb.LINK_REMOVE, lambda m: dict(m.body))

    def _cast_remove(self, st):
        self._remove_one(st, "casts", pb.CAST_REMOVE, lambda m: {"target_hash": m.hash})

    def _reaction_remove(self, st):
        self._remove_one(st, "reactions", pb.REACTION_REMOVE, lambda m: dict(m.body))

    def _user_data(self, st):
        r = self.r
        utype = r.choice((1, 2, 3, 5))
        cur = st.crdt.get(("user_data", utype))
        if cur is not None and cur.timestamp >= self.ts:
            return
        value = {1: f"https://i.example.com/{st.fid}/{r.randrange(10**6)}.png",
                 2: f"{r.choice(WORDS).title()} {r.choice(UNICODE_WORDS)}",
                 3: " ".join(r.choice(WORDS) for _ in range(8)),
                 5: f"https://example.com/~{st.fid}"}[utype]
        self._merge(st, pb.USER_DATA_ADD, {"type": utype, "value": value})

    def _verification(self, st):
        k = 10 + len([m for m in st.messages.values() if m.type == pb.VERIFICATION_ADD_ETH_ADDRESS])
        body = self.gen.verification_body(st.fid, k + self.pos * 7)
        if ("verification", body["address"]) in st.crdt:
            return
        self._merge(st, pb.VERIFICATION_ADD_ETH_ADDRESS, body)

    def _verification_remove(self, st):
        self._remove_one(st, "verifications", pb.VERIFICATION_REMOVE,
                         lambda m: {"address": m.body["address"], "protocol": m.body["protocol"]})

    def _prune(self, st):
        """Storage pressure: the oldest cast add goes (PRUNE_MESSAGE)."""
        adds = [m for m in st.stores["casts"].items if m.type == pb.CAST_ADD]
        if len(adds) < 3:
            return
        m = adds[0]
        st.full_stores.add("casts")  # a hub prunes a store only when it is at its limit
        self.net.drop(st, m, PRUNED, self.pos)
        m.observed = True
        self.out.append((PRUNE_MESSAGE, m))

    def _onchain_block(self):
        return 130_000_000 + self.pos * 8 + self.shard

    def _signer_add(self, st, app: int | None = None):
        if app is None:
            apps = self.net.plan.client_apps or [1]
            app = apps[0] if self.r.random() < 0.5 else self.r.choice(apps)
        idx = len(st.signers)
        signer = self.gen.signer_key(st.fid, idx)
        ev = self.gen.signer_event(st.fid, signer, app, 1, self._onchain_block(), self.r)
        ev.log_index = len(self.out)
        self.net.pin(st)
        st.signers.append(signer)
        st.signer_active.append(True)
        st.onchain.append(ev)
        st.onchain_born[id(ev)] = self.pos
        self.net.signer_adds.append((self.pos, st.fid, app))
        self.out.append((MERGE_ON_CHAIN_EVENT, ev))

    def _signer_remove(self, st, idx: int | None = None):
        """Remove a key on chain; under the "revoke"/"hubble" rules, revoke every active message it signed."""
        active = [i for i, ok in enumerate(st.signer_active) if ok]
        if idx is None:
            if len(active) < 2:
                return
            idx = self.r.choice(active[1:])
        signer = st.signers[idx]
        ev = self.gen.signer_event(st.fid, signer, 0, 2, self._onchain_block(), self.r)
        ev.log_index = len(self.out)
        self.net.pin(st)
        st.signer_active[idx] = False
        st.onchain.append(ev)
        st.onchain_born[id(ev)] = self.pos
        self.out.append((MERGE_ON_CHAIN_EVENT, ev))
        self._revoke_signed_by(st, signer)

    def _revoke_signed_by(self, st, signer):
        if self.net.stream.revocation == "keep":
            return
        victims = [m for m in st.messages.values() if m.signer is signer and m.state == ACTIVE]
        for m in sorted(victims, key=lambda m: m.ts_hash)[: MAX_SEQ - 128 - len(self.out)]:
            self.net.drop(st, m, REVOKED, self.pos)
            m.observed = True
            self.out.append((REVOKE_MESSAGE, m))

    def _storage_rent(self, st):
        gen = self.gen
        blk = self._onchain_block()
        from .model import OnChainEvent
        ev = OnChainEvent("EVENT_TYPE_STORAGE_RENT", blk, derive(gen.seed, "opblock", blk),
                          1_700_000_000 + (blk - 108_000_000) * 2, derive(gen.seed, "tx", st.fid, "rent", blk),
                          len(self.out), st.fid, {"kind": "storage_rent", "payer": gen.custody(st.fid), "units": 1,
                                                  "expiry": 1_800_000_000}, tx_index=self.r.randrange(200))
        self.net.pin(st)
        st.onchain.append(ev)
        st.onchain_born[id(ev)] = self.pos
        self.out.append((MERGE_ON_CHAIN_EVENT, ev))

    def _username_proof(self, st):
        version = len(st.proofs)
        proof = UsernameProof(1_700_000_000 + self.pos, self.gen.fname(st.fid, version), self.gen.custody(st.fid),
                              derive(self.gen.seed, "fnamesig", st.fid, version, length=65), st.fid)
        self.net.pin(st)
        old = st.proofs[0] if st.proofs else None
        st.proofs = [proof]   # an fname change replaces the fid's fname proof
        self.net.fname_owners[proof.name] = st.fid
        self.out.append((MERGE_USERNAME_PROOF, (proof, old)))

    def _register(self, st):
        """A new user signs up: ID_REGISTER, STORAGE_RENT and a signer add, usually via a client app."""
        reserve = self.net.shard_reserve[self.shard]
        if not reserve:
            return
        fid = reserve[0]
        new = self.net.register(fid, self.pos)
        gen, blk = self.gen, self._onchain_block()
        from .model import OnChainEvent
        common = dict(block_number=blk, block_hash=derive(gen.seed, "opblock", blk),
                      block_timestamp=1_700_000_000 + (blk - 108_000_000) * 2, fid=fid)
        reg = OnChainEvent("EVENT_TYPE_ID_REGISTER", transaction_hash=derive(gen.seed, "tx", fid, "register"),
                           log_index=len(self.out), body={"kind": "id_register", "to": gen.custody(fid), "event_type": 1,
                                                         "from": b"", "recovery": derive(gen.seed, "recovery", fid, length=20)},
                           tx_index=self.r.randrange(200), **common)
        rent = OnChainEvent("EVENT_TYPE_STORAGE_RENT", transaction_hash=derive(gen.seed, "tx", fid, "rent0"),
                            log_index=len(self.out) + 1, body={"kind": "storage_rent", "payer": gen.custody(fid),
                                                               "units": 1, "expiry": 1_800_000_000},
                            tx_index=self.r.randrange(200), **common)
        for ev in (reg, rent):
            new.onchain.append(ev)
            new.onchain_born[id(ev)] = self.pos
            self.out.append((MERGE_ON_CHAIN_EVENT, ev))
        new.proofs.append(UsernameProof(1_700_000_000 + self.pos, gen.fname(fid), gen.custody(fid),
                                        derive(gen.seed, "fnamesig", fid, length=65), fid))
        self.out.append((MERGE_USERNAME_PROOF, (new.proofs[-1], None)))
        self.net.fname_owners[new.proofs[-1].name] = fid
        self._signer_add(new)

    # -- scripted actions (Stream.script): exact events for a test ----------------------------
    def follow(self, fid: int, target: int) -> Message:
        st = self.net.fid_state(fid)
        return self._merge(st, pb.LINK_ADD, {"type": "follow", "display_timestamp": None, "target_fid": target})

    def cast(self, fid: int, text: str) -> Message:
        return self._merge(self.net.fid_state(fid), pb.CAST_ADD, cast_body(text, [], []))

    def unfollow(self, fid: int, target: int) -> Message:
        st = self.net.fid_state(fid)
        return self._merge(st, pb.LINK_REMOVE, {"type": "follow", "display_timestamp": None, "target_fid": target})

    def cast_remove(self, fid: int, cast_hash: bytes | None = None) -> Message:
        """Remove ``cast_hash`` (default: the fid's newest active cast)."""
        st = self.net.fid_state(fid)
        if cast_hash is None:
            cast_hash = [m for m in st.stores["casts"].items if m.type == pb.CAST_ADD][-1].hash
        return self._merge(st, pb.CAST_REMOVE, {"target_hash": cast_hash})

    def signer_add(self, fid: int, app_fid: int) -> None:
        self._signer_add(self.net.fid_state(fid), app_fid)

    def prune(self, fid: int) -> None:
        """The fid's oldest cast is pruned (its casts store is full)."""
        self._prune(self.net.fid_state(fid))

    def signer_remove(self, fid: int, index: int) -> None:
        self._signer_remove(self.net.fid_state(fid), index)

    def key_add(self, fid: int, app_fid: int, scopes=(pb.CAST_ADD, pb.REACTION_ADD, pb.LINK_ADD), ttl: int = 30 * 86400):
        """A gasless signer (KEY_ADD, engine V16): custody-authorised, metadata names the app."""
        st = self.net.fid_state(fid)
        self.net.pin(st)
        gen, seed = self.gen, self.net.config.seed
        index = 1000 + len(st.gasless)
        key = gen.signer_key(fid, index)
        st.user_nonce += 1
        meta = key_metadata.encode(app_fid, derive(seed, "custody", app_fid, length=20),
                                   derive(seed, "skr", fid, "gasless", index, length=65), self.ts + 86400)
        body = {"key": key.public_key, "key_type": 1, "custody_signature": derive(seed, "custodysig", fid, index, length=65),
                "deadline": self.ts + 3600, "nonce": st.user_nonce, "metadata": meta, "metadata_type": 1,
                "registration_tx_hash": b"", "scopes": list(scopes), "ttl": ttl}
        m = Message(fid, pb.KEY_ADD, self.ts, body, key)
        m.observed = True
        st.gasless.append({"signer": key, "app": app_fid, "nonce": st.user_nonce, "ttl": ttl,
                           "scopes": list(scopes), "added_at": self.ts, "message": m, "active": True})
        self.net.signer_adds.append((self.pos, fid, app_fid))
        self.out.append((MERGE_MESSAGE, (m, [])))
        return m

    def key_remove(self, fid: int, index: int = -1) -> Message:
        """KEY_REMOVE of a gasless key (custody-signed); revokes by the stream's revocation rule."""
        st = self.net.fid_state(fid)
        self.net.pin(st)
        entry = st.gasless[index]
        entry["active"] = False
        st.user_nonce += 1
        body = {"key": entry["signer"].public_key, "signature": derive(self.net.config.seed, "keyrm", fid, st.user_nonce,
                                                                         length=65),
                "signature_type": 1, "deadline": self.ts + 3600, "nonce": st.user_nonce}
        m = Message(fid, pb.KEY_REMOVE, self.ts, body, entry["signer"])
        m.observed = True
        self.out.append((MERGE_MESSAGE, (m, [])))
        self._revoke_signed_by(st, entry["signer"])
        return m

    def raw_event(self, fields: dict) -> None:
        """An event with exactly these JSON fields (id, blockNumber and shardIndex are added)."""
        self.out.append((RAW, dict(fields)))

