"""Seeded network generator.

Global structure (who follows whom, how many messages each fid has, which client app
requested each signer) is planned up front with numpy in well under a second for 100k fids.
Per-fid content (the signed messages) is produced lazily and deterministically from
(seed, fid), so a 100k-fid / 5M-message network costs nothing until a fid is asked for.

To keep per-fid generation independent, replies, quotes and reactions only point at
*root* casts of other fids, and root casts never depend on another fid.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from . import key_metadata
from . import protobuf as pb
from .model import DELETED, Message, OnChainEvent, UsernameProof
from .signing import Signer, derive, message_hash

FARCASTER_EPOCH = 1609459200
CHANNELS = ["https://warpcast.com/~/channel/farcaster", "https://warpcast.com/~/channel/dev",
            "https://warpcast.com/~/channel/music", "https://warpcast.com/~/channel/art",
            "chain://eip155:1/erc721:0xa45662638e9f3bbb7a6fecb4b17853b7ba0f3a60"]
WORDS = ("gm gn building shipping today onchain frames channel protocol hub cast reply based love "
         "coffee music art code rust python indexer snapchain farcaster degen builders week ship "
         "thoughts question idea new update wow nice great hello world").split()
UNICODE_WORDS = ["🌈", "🚀", "✨", "日本語", "café", "naïve", "Ωmega", "🔥", "привет", "مرحبا", "🎩", "👀"]
ADJ = "quiet brave lucky swift sunny misty bold calm wild tiny".split()
NOUN = "fox owl oak river comet pixel cedar lynx moth wave".split()
OP_BLOCK_BASE, OP_TS_BASE = 108_000_000, 1_700_000_000


@dataclass
class NetworkConfig:
    seed: int = 1
    num_fids: int = 200
    num_shards: int = 2
    num_client_apps: int = 3
    client_app_share: float = 0.3       # share of signers requested by a client app
    mean_casts: float = 20.0
    mean_reactions: float = 16.0
    mean_follows: float = 12.0
    genesis_timestamp: int = 150_000_000  # Farcaster seconds at stream position 0
    history_days: int = 365
    events_per_block: float = 6.0         # mean data events per non-empty block per shard
    empty_block_ratio: float = 0.2
    stream_active_fids: int = 2000        # per shard: the stream's actors are the most active fids
    retention_seconds: float = 3 * 24 * 3600
    base_heights: tuple = ()              # first block height per data shard (default: seeded)
    extra: dict = field(default_factory=dict)


def _rng(seed: int, *parts) -> random.Random:
    return random.Random(int.from_bytes(derive(seed, *parts, length=8), "big"))


def shard_of(fid: int, num_shards: int) -> int:
    """Data shard of a fid: hash routing like Snapchain's sharded router (shards are 1-based)."""
    return int.from_bytes(derive(0, "shard", fid, length=4), "big") % num_shards + 1


class Plan:
    """Per-fid counts and the follow graph, drawn in bulk."""

    def __init__(self, cfg: NetworkConfig):
        self.cfg = cfg
        n = cfg.num_fids
        rng = np.random.default_rng(cfg.seed)
        self.fids = list(range(1, n + 1))
        # Fids registered later by the stream (new users signing up), not part of genesis.
        self.reserve_fids = list(range(n + 1, n + 1 + max(4, n // 50)))
        # Heavy-tailed popularity: Zipf weights over a random ranking of fids.
        rank = rng.permutation(n) + 1
        self.popularity = 1.0 / rank.astype(np.float64) ** 1.05
        self._pop_cum = np.cumsum(self.popularity)
        self._pop_cum /= self._pop_cum[-1]
        # Heavy-tailed out-degree (lognormal) for follows; removes are a small fraction.
        def lognormal(mean, sigma, cap):
            mu = np.log(max(mean, 0.01)) - sigma * sigma / 2
            return np.minimum(np.floor(rng.lognormal(mu, sigma, n)).astype(np.int64), cap)
        cap = max(n - 1, 0)
        follows = lognormal(cfg.mean_follows, 1.1, min(cap, 5000))
        unfollows = rng.binomial(follows, 0.05)
        draws = self._sample_popular(rng, int((follows + unfollows).sum()))
        self.follows: list[tuple] = []
        self.unfollowed: list[tuple] = []
        pos = 0
        for i, fid in enumerate(self.fids):
            nf, nu = int(follows[i]), int(unfollows[i])
            chunk = draws[pos:pos + nf + nu]
            pos += nf + nu
            seen, fl, uf = {fid}, [], []
            for t in chunk.tolist():
                if t in seen:
                    continue
                seen.add(t)
                (fl if len(fl) < nf else uf).append(t)
            self.follows.append(tuple(fl))
            self.unfollowed.append(tuple(uf))
        self.casts = np.maximum(lognormal(cfg.mean_casts, 1.0, 3000), 0)
        self.dependent = rng.binomial(self.casts, 0.35)          # replies + quotes
        self.cast_removes = rng.binomial(self.casts, 0.05)
        self.reactions = lognormal(cfg.mean_reactions, 1.0, 3000)
        self.reaction_removes = rng.binomial(self.reactions, 0.05)
        self.verifications = np.minimum(rng.poisson(0.8, n), 3)
        self.signers = np.minimum(1 + rng.poisson(0.7, n), 4)
        # Client apps: the most popular fids after the first few; their share of signers is Zipf-like.
        self.client_apps = [int(f) for f in np.argsort(rank)[: cfg.num_client_apps + 2][2:] + 1] \
            if n > cfg.num_client_apps + 2 else self.fids[: cfg.num_client_apps]
        app_w = np.array([1.0 / (i + 1) for i in range(len(self.client_apps))]) if self.client_apps else None
        self.signer_apps: list[tuple] = []
        for i in range(n):
            apps = []
            for _ in range(int(self.signers[i])):
                if self.client_apps and rng.random() < cfg.client_app_share:
                    apps.append(int(rng.choice(self.client_apps, p=app_w / app_w.sum())))
                else:
                    apps.append(int(rng.integers(1, n + 1)))
            self.signer_apps.append(tuple(apps))
        self.user_data_types = rng.integers(3, 6, n)  # how many of PFP/DISPLAY/BIO/USERNAME/URL
        self.activity = (self.casts + self.reactions + 1).astype(np.float64)

    def _sample_popular(self, rng, k: int) -> np.ndarray:
        return np.searchsorted(self._pop_cum, rng.random(k)) + 1

    def popular_fid(self, r: random.Random) -> int:
        return int(np.searchsorted(self._pop_cum, r.random())) + 1

    def messages_for(self, i: int) -> int:
        """Messages held in fid i+1's stores at genesis (adds that survive + removes)."""
        return int(self.casts[i] + self.reactions[i] + len(self.follows[i]) + len(self.unfollowed[i])
                   + self.user_data_types[i] + self.verifications[i])

    @property
    def total_messages(self) -> int:
        return int(self.casts.sum() + self.reactions.sum() + sum(map(len, self.follows))
                   + sum(map(len, self.unfollowed)) + self.user_data_types.sum() + self.verifications.sum())


# ---------------------------------------------------------------------------------------------
# Text

def cast_text(r: random.Random, mention_fids=(), long: bool = False) -> tuple[str, list, list]:
    """Text with mentions removed, as clients send it: (text, mentions, byte positions)."""
    n_words = r.randint(60, 160) if long else r.randint(2, 14)
    words = r.choices(WORDS, k=n_words)
    if r.random() < 0.5:   # some unicode: emoji, accents, other scripts
        words[r.randrange(n_words)] = r.choice(UNICODE_WORDS)
    slots = sorted(r.sample(range(n_words + 1), min(len(mention_fids), n_words + 1)))
    text, mentions, positions = "", [], []
    for i in range(n_words + 1):
        if slots and slots[0] == i:
            slots.pop(0)
            mentions.append(mention_fids[len(mentions)])
            positions.append(len(text.encode("utf-8")))
            text += " "
        if i < n_words:
            text += words[i] + (" " if i < n_words - 1 else "")
    limit = 1024 if long else 320
    while len(text.encode("utf-8")) > limit:
        text = text[:-1]
    positions = [min(p, len(text.encode("utf-8"))) for p in positions]
    return text, mentions, positions


def cast_body(text, mentions=(), positions=(), parent_cast_id=None, parent_url=None, embeds=(), ctype=0) -> dict:
    return {"embeds_deprecated": [], "mentions": list(mentions), "parent_cast_id": parent_cast_id,
            "parent_url": parent_url, "text": text, "mentions_positions": list(positions),
            "embeds": list(embeds), "type": ctype}


class Generator:
    """Deterministic content for each fid of a planned network."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.cfg = plan.cfg
        self.seed = plan.cfg.seed
        self.genesis = plan.cfg.genesis_timestamp
        self.history_start = self.genesis - plan.cfg.history_days * 86400
        self.root_specs = lru_cache(maxsize=4096)(self._root_specs)
        self.root_refs = lru_cache(maxsize=400_000)(self._root_refs)

    # -- identities -------------------------------------------------------------------------
    def signer_key(self, fid: int, index: int) -> Signer:
        return Signer(derive(self.seed, "signer", fid, index))

    def custody(self, fid: int) -> bytes:
        return derive(self.seed, "custody", fid, length=20)

    def fname(self, fid: int, version: int = 0) -> str:
        r = _rng(self.seed, "fname", fid, version)
        return f"{r.choice(ADJ)}{r.choice(NOUN)}{fid}" + (f"v{version}" if version else "")

    # -- root casts (independent of every other fid) ----------------------------------------
    def n_root(self, fid: int) -> int:
        i = fid - 1
        return int(self.plan.casts[i] - self.plan.dependent[i])

    def _root_specs(self, fid: int) -> tuple:
        """(timestamp, body, hash) of fid's root casts, oldest first."""
        r = _rng(self.seed, "root", fid)
        n = self.n_root(fid)
        span = self.genesis - self.history_start
        stamps = sorted(self.history_start + r.randrange(span - 1) for _ in range(n))
        out = []
        for ts in stamps:
            long = r.random() < 0.04
            mention = [self.plan.popular_fid(r) for _ in range(r.choice((0, 0, 0, 1, 2)))]
            text, mentions, positions = cast_text(r, mention, long)
            embeds = [("url", f"https://example.com/{fid}/{r.randrange(10**6)}.png")] if r.random() < 0.2 else []
            parent_url = r.choice(CHANNELS) if r.random() < 0.15 else None
            body = cast_body(text, mentions, positions, parent_url=parent_url, embeds=embeds, ctype=1 if long else 0)
            out.append((ts, body, message_hash(pb.encode_message_data(pb.CAST_ADD, fid, ts, body))))
        return tuple(out)

    def _root_refs(self, fid: int) -> tuple:
        """(timestamp, hash) of fid's root casts: all another fid needs to reply or react."""
        return tuple((ts, h) for ts, _, h in self.root_specs(fid))

    def pick_root_cast(self, r: random.Random, candidates) -> tuple | None:
        """A root cast (fid, ts, hash) of one of ``candidates`` (or a popular fid)."""
        for _ in range(4):
            target = r.choice(candidates) if candidates and r.random() < 0.7 else self.plan.popular_fid(r)
            if target > self.cfg.num_fids:
                continue
            refs = self.root_refs(target)
            if refs:
                ts, h = refs[r.randrange(len(refs))]
                return target, ts, h
        return None

    # -- everything else --------------------------------------------------------------------
    def build(self, fid: int) -> "FidHistory":
        plan, i, seed = self.plan, fid - 1, self.seed
        r = _rng(seed, "fid", fid)
        hist = FidHistory(fid)
        if fid > self.cfg.num_fids:   # registers during the stream; nothing before
            return hist
        signers = [self.signer_key(fid, k) for k in range(int(plan.signers[i]))]
        hist.signers = signers
        span = self.genesis - self.history_start
        reg_ts = self.history_start + (fid * 7919) % max(span // 4, 1)

        def pick_signer():
            return signers[0] if r.random() < 0.6 else r.choice(signers)

        def later(ts):  # a moment after ts, still before genesis
            return min(ts + 1 + r.randrange(max(self.genesis - ts - 1, 1)), self.genesis - 1)

        def when():
            return reg_ts + r.randrange(max(self.genesis - reg_ts - 1, 1))

        def add(mtype, ts, body, signer=None):
            m = Message(fid, mtype, ts, body, signer or pick_signer())
            hist.messages.append(m)
            return m

        def remove(target: Message, mtype, body):
            rm = add(mtype, later(target.timestamp), body, target.signer)
            target.state, target.deleted_by = DELETED, rm.hash
            return rm

        # on-chain: id register, storage rent, one signer add per key
        block = OP_BLOCK_BASE + fid * 40
        def onchain(etype, body, log_index, blk):
            tx = derive(seed, "tx", fid, etype, log_index, blk)
            return OnChainEvent(etype, blk, derive(seed, "opblock", blk), OP_TS_BASE + (blk - OP_BLOCK_BASE) * 2,
                                tx, log_index, fid, body, tx_index=r.randrange(200))
        hist.onchain.append(onchain("EVENT_TYPE_ID_REGISTER", {
            "kind": "id_register", "to": self.custody(fid), "event_type": 1, "from": b"",
            "recovery": derive(seed, "recovery", fid, length=20)}, 0, block))
        hist.onchain.append(onchain("EVENT_TYPE_STORAGE_RENT", {
            "kind": "storage_rent", "payer": self.custody(fid), "units": 1 + (r.random() < 0.2),
            "expiry": OP_TS_BASE + 365 * 86400 * 2}, 1, block + 1))
        for k, (signer, app) in enumerate(zip(signers, plan.signer_apps[i])):
            hist.onchain.append(self.signer_event(fid, signer, app, 1, block + 2 + k, r))

        proof_ts = OP_TS_BASE + fid * 3
        hist.proofs.append(UsernameProof(proof_ts, self.fname(fid), self.custody(fid),
                                         derive(seed, "fnamesig", fid, length=65), fid))

        # root casts come from the shared spec so other fids' replies point at the same hashes
        casts = [add(pb.CAST_ADD, ts, body) for ts, body, _ in self.root_specs(fid)]
        assert all(c.hash == s[2] for c, s in zip(casts, self.root_specs(fid)))
        follows = plan.follows[i]
        for _ in range(int(plan.dependent[i])):
            tgt = self.pick_root_cast(r, follows)
            ts = when()
            if tgt is None:
                casts.append(add(pb.CAST_ADD, ts, cast_body(*cast_text(r), parent_url=r.choice(CHANNELS))))
                continue
            tfid, tts, th = tgt
            ts = later(max(ts, tts))
            if r.random() < 0.8:  # reply that mentions the parent's author
                text, mentions, positions = cast_text(r, [tfid] if r.random() < 0.5 else [])
                body = cast_body(text, mentions, positions, parent_cast_id=(tfid, th))
            else:  # quote cast
                text, mentions, positions = cast_text(r)
                body = cast_body(text, mentions, positions, embeds=[("cast", (tfid, th))],
                                 parent_url=r.choice(CHANNELS) if r.random() < 0.3 else None)
            casts.append(add(pb.CAST_ADD, ts, body))
        for c in r.sample(casts, int(plan.cast_removes[i])):
            remove(c, pb.CAST_REMOVE, {"target_hash": c.hash})

        seen, reactions = set(), []
        for _ in range(int(plan.reactions[i])):
            rtype = pb.REACTION_LIKE if r.random() < 0.75 else pb.REACTION_RECAST
            if r.random() < 0.1:
                body = {"type": rtype, "target_cast_id": None, "target_url": r.choice(CHANNELS)}
            else:
                tgt = self.pick_root_cast(r, follows)
                if tgt is None:
                    body = {"type": rtype, "target_cast_id": None, "target_url": r.choice(CHANNELS)}
                else:
                    body = {"type": rtype, "target_cast_id": (tgt[0], tgt[2]), "target_url": None}
            key = (rtype, body["target_cast_id"], body["target_url"])
            while key in seen:  # keep the planned count: fall back to a unique url reaction
                body = {"type": rtype, "target_cast_id": None, "target_url": f"https://example.com/p/{r.randrange(10**9)}"}
                key = (rtype, None, body["target_url"])
            seen.add(key)
            reactions.append(add(pb.REACTION_ADD, when(), body))
        for m in r.sample(reactions, int(plan.reaction_removes[i])):
            remove(m, pb.REACTION_REMOVE, dict(m.body))

        for t in follows:
            add(pb.LINK_ADD, when(), {"type": "follow", "display_timestamp": None, "target_fid": t})
        for t in plan.unfollowed[i]:
            link = add(pb.LINK_ADD, when(), {"type": "follow", "display_timestamp": None, "target_fid": t})
            remove(link, pb.LINK_REMOVE, dict(link.body))

        name = self.fname(fid)
        ud_values = [(1, f"https://i.example.com/{fid}.png"),
                     (2, r.choice([f"{name.title()}", f"{name} {r.choice(UNICODE_WORDS)}"])),
                     (6, name), (3, " ".join(r.choice(WORDS) for _ in range(6))),
                     (5, f"https://{name}.example.com")]
        for utype, value in ud_values[: int(plan.user_data_types[i])]:
            ts = when()
            if utype == 2 and r.random() < 0.3:  # an older display name replaced by the current one
                old = add(pb.USER_DATA_ADD, ts, {"type": utype, "value": name})
                new = add(pb.USER_DATA_ADD, later(ts), {"type": utype, "value": value})
                old.state, old.deleted_by = DELETED, new.hash
                continue
            add(pb.USER_DATA_ADD, ts, {"type": utype, "value": value})
        for k in range(int(plan.verifications[i])):
            add(pb.VERIFICATION_ADD_ETH_ADDRESS, when(), self.verification_body(fid, k))
        return hist

    def verification_body(self, fid: int, k: int) -> dict:
        return {"address": derive(self.seed, "eth", fid, k, length=20),
                "claim_signature": derive(self.seed, "claim", fid, k, length=65),
                "block_hash": derive(self.seed, "ethblock", fid, k), "verification_type": 0,
                "chain_id": 0, "protocol": 0}

    def signer_event(self, fid, signer: Signer, app_fid: int, event_type: int, block: int, r) -> OnChainEvent:
        meta = b""
        if event_type == 1:
            meta = key_metadata.encode(app_fid, derive(self.seed, "custody", app_fid, length=20),
                                       derive(self.seed, "skr", fid, block, length=65), OP_TS_BASE + 10**8)
        return OnChainEvent("EVENT_TYPE_SIGNER", block, derive(self.seed, "opblock", block),
                            OP_TS_BASE + (block - OP_BLOCK_BASE) * 2, derive(self.seed, "tx", fid, "signer", block),
                            2, fid, {"kind": "signer", "key": signer.public_key, "event_type": event_type,
                                     "metadata": meta, "app_fid": app_fid}, tx_index=r.randrange(200))


class FidHistory:
    """Everything a fid did before stream position 0."""

    def __init__(self, fid: int):
        self.fid = fid
        self.messages: list[Message] = []
        self.onchain: list[OnChainEvent] = []
        self.proofs: list[UsernameProof] = []
        self.signers: list[Signer] = []
