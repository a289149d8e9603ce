"""The processor: conflict rules, soft deletes, order independence and idempotent replay."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from app.farcaster import processor
from app.farcaster.batch import Batch
from app.farcaster.messages import HubDataError, NotIndexed, parse_message

from . import messages as m


def apply_events(engine, *events, expect_new: bool = False) -> None:
    batch = Batch()
    for e in events:
        batch.add_event(e)
    with engine.begin() as conn:
        processor.apply_batch(conn, batch, expect_new=expect_new)


def apply_messages(engine, *msgs, expect_new: bool = False) -> None:
    """As a backfill page does: plain messages, no deletedMessages."""
    batch = Batch()
    for raw in msgs:
        batch.add_message(parse_message(raw))
    with engine.begin() as conn:
        processor.apply_batch(conn, batch, expect_new=expect_new)


def state(engine, table: str, label: str) -> tuple:
    with engine.connect() as conn:
        row = conn.execute(text(f"""
            SELECT deleted_at IS NOT NULL, deleted_by, pruned_at IS NOT NULL, revoked_at IS NOT NULL
            FROM farcaster_{table} WHERE hash = :h
        """), {"h": bytes.fromhex(m.h(label)[2:])}).first()
    if row is None:
        return ("missing",)
    deleted, by, pruned, revoked = row
    if pruned:
        return ("pruned",)
    if revoked:
        return ("revoked",)
    return ("deleted", "0x" + by.hex() if by else None) if deleted else ("active",)


def snapshot(engine) -> list:
    with engine.connect() as conn:
        return [conn.execute(text(f"SELECT hash, deleted_by, deleted_at IS NULL, pruned_at IS NULL, revoked_at IS NULL "
                                  f"FROM farcaster_{t} ORDER BY hash")).all()
                for t in ("casts", "cast_removes", "reactions", "links", "user_data")] + [
            conn.execute(text("SELECT * FROM farcaster_profiles ORDER BY fid")).all()]


def test_cast_remove_wins_even_when_it_arrives_first(engine):
    add = m.cast(1, 100, "c1")
    remove = m.cast_remove(1, 90, "r1", m.h("c1"))  # an older timestamp: remove still wins for casts
    apply_messages(engine, remove)
    assert state(engine, "casts", "c1") == ("missing",)
    apply_messages(engine, add)
    assert state(engine, "casts", "c1") == ("deleted", m.h("r1"))
    assert state(engine, "cast_removes", "r1") == ("active",)


def test_last_write_wins_for_reactions_in_any_order(engine):
    target = (2, m.h("target"))
    add = m.reaction("ADD", 1, 100, "a1", target)
    remove = m.reaction("REMOVE", 1, 110, "rm", target)
    readd = m.reaction("ADD", 1, 120, "a2", target)
    for msg in (readd, remove, add):  # newest first: every older one loses to what is there
        apply_messages(engine, msg)
    assert state(engine, "reactions", "a2") == ("active",)
    assert state(engine, "reactions", "rm") == ("deleted", m.h("a2"))
    assert state(engine, "reactions", "a1") == ("deleted", m.h("a2"))


def test_remove_wins_a_timestamp_tie(engine):
    add = m.link("ADD", 1, 100, "l-add", 5)
    remove = m.link("REMOVE", 1, 100, "l-rm", 5)
    apply_messages(engine, add, remove)
    assert state(engine, "links", "l-rm") == ("active",)
    assert state(engine, "links", "l-add") == ("deleted", m.h("l-rm"))


@pytest.mark.parametrize("expect_new", [False, True], ids=["lookup-all", "expect-new"])
def test_deleted_messages_keep_the_displacing_hash_and_replay_changes_nothing(engine, expect_new):
    target = (2, m.h("t"))
    add = m.reaction("ADD", 1, 100, "a1", target)
    remove = m.reaction("REMOVE", 1, 110, "rm", target)
    readd = m.reaction("ADD", 1, 120, "a2", target)
    old_name, new_name = m.user_data(1, 100, "u1", "DISPLAY", "Old"), m.user_data(1, 130, "u2", "DISPLAY", "New")
    events = [m.merge(add), m.merge(remove, [add]), m.merge(readd, [remove]), m.merge(old_name),
              m.merge(new_name, [old_name])]
    apply_events(engine, *reversed(events), expect_new=expect_new)  # one batch, and its events in the worst order
    assert state(engine, "reactions", "a1") == ("deleted", m.h("rm"))  # displaced by the remove, as the hub said
    assert state(engine, "reactions", "rm") == ("deleted", m.h("a2"))
    assert state(engine, "reactions", "a2") == ("active",)
    assert state(engine, "user_data", "u1") == ("deleted", m.h("u2"))
    before = snapshot(engine)
    apply_events(engine, *events, expect_new=expect_new)
    for e in events:
        apply_events(engine, e, expect_new=expect_new)
    assert snapshot(engine) == before
    with engine.connect() as conn:
        assert conn.execute(text("SELECT display_name FROM farcaster_profiles WHERE fid = 1")).scalar() == "New"


def test_prune_and_revoke_are_soft_and_final(engine):
    c1, c2 = m.cast(1, 100, "p1"), m.cast(1, 101, "v1")
    apply_events(engine, m.prune(c1), m.revoke(c2))  # before their adds were ever seen
    apply_messages(engine, c1, c2)
    assert state(engine, "casts", "p1") == ("pruned",)
    assert state(engine, "casts", "v1") == ("revoked",)


def test_a_malformed_message_stores_nothing_of_its_batch(engine):
    good = m.cast(1, 100, "ok")
    bad = m.cast(1, 101, "bad")
    bad["hash"] = "not-hex"
    batch = Batch()
    batch.add_event(m.merge(good))
    with pytest.raises(HubDataError, match="hash"):
        batch.add_event(m.merge(bad))
    remove = m.cast_remove(1, 100, "r", m.h("x"))
    remove["data"]["castRemoveBody"]["targetHash"] = m.h("x")  # hex where the hub sends base64
    with pytest.raises(HubDataError, match="targetHash"):
        parse_message(remove)
    assert state(engine, "casts", "ok") == ("missing",)


def test_valid_messages_of_kinds_not_indexed_are_skipped_not_fatal(engine):
    frame = m.message("FRAME_ACTION", 1, 100, "frameActionBody", {"url": "https://x"}, "frame")
    solana = m.message("VERIFICATION_ADD_ETH_ADDRESS", 1, 100, "verificationAddAddressBody",
                       {"address": "So1ana", "claimSignature": "", "blockHash": "x", "type": 0, "chainId": 0,
                        "protocol": "PROTOCOL_SOLANA"}, "sol")
    apply_events(engine, m.merge(frame), m.merge(solana), m.merge(m.cast(1, 101, "kept")))
    assert state(engine, "casts", "kept") == ("active",)
    # proto3's JSON mapping writes an enum value its generator does not know as the number: a
    # type newer than the hub's (or our) name table, skipped; anything else is malformed.
    with pytest.raises(NotIndexed, match="MESSAGE_TYPE_99"):
        parse_message(m.message("FRAME_ACTION", 1, 100, "b", {}, "x") | {"data": {"type": 99}})
    with pytest.raises(HubDataError, match="not a message type"):
        parse_message(m.message("FRAME_ACTION", 1, 100, "b", {}, "x") | {"data": {"type": "CAST"}})


def _every_kind_of_event() -> list[dict]:
    """One batch's worth of events covering every staged field: bytes, NULLs, lists, embeds,
    deletedMessages, prunes, revokes, an on-chain signer add and a username proof."""
    import base64

    from simulators.hub import key_metadata

    target = (2, m.h("t"))
    reply = m.cast(1, 100, "reply", text="tab\there \\ \"q\" \u00e9\nline", parent=(2, m.h("parent")))
    body = reply["data"]["castAddBody"]
    body.update(mentions=[3, 4], mentionsPositions=[0, 2],
                embeds=[{"url": "https://x.test/a"}, {"castId": {"fid": 5, "hash": m.h("embedded")}}])
    url_cast = m.cast(1, 101, "url-cast")
    url_cast["data"]["castAddBody"]["parentUrl"] = "chain://eip155:1/erc721:0xabc"
    url_reaction = m.message("REACTION_ADD", 1, 102, "reactionBody",
                             {"type": "REACTION_TYPE_RECAST", "targetUrl": "https://u.test"}, "r-url")
    add, remove = m.reaction("ADD", 1, 100, "a1", target), m.reaction("REMOVE", 1, 110, "rm", target)
    verification = m.message("VERIFICATION_ADD_ETH_ADDRESS", 1, 103, "verificationAddAddressBody",
                             {"address": "0x" + "12" * 20, "claimSignature": base64.b64encode(b"c" * 65).decode(),
                              "blockHash": "0x" + "34" * 32, "type": 0, "chainId": 0,
                              "protocol": "PROTOCOL_ETHEREUM"}, "ver")
    unverify = m.message("VERIFICATION_REMOVE", 1, 104, "verificationRemoveBody",
                         {"address": "0x" + "56" * 20, "protocol": "PROTOCOL_ETHEREUM"}, "unver")
    metadata = key_metadata.encode(42, b"\x11" * 20, b"\x22" * 65, 1_900_000_000)
    signer_add = {"type": "HUB_EVENT_TYPE_MERGE_ON_CHAIN_EVENT", "id": 9, "mergeOnChainEventBody": {"onChainEvent": {
        "type": "EVENT_TYPE_SIGNER", "chainId": 10, "blockNumber": 1, "blockHash": "0x" + "ab" * 32,
        "blockTimestamp": 1752105600, "transactionHash": "0x" + "cd" * 32, "logIndex": 3, "fid": 1,
        "signerEventBody": {"key": "0x" + "ee" * 32, "keyType": 1, "eventType": "SIGNER_EVENT_TYPE_ADD",
                            "metadata": base64.b64encode(metadata).decode(), "metadataType": 1},
        "txIndex": None, "version": 2}}}
    proof = {"type": "HUB_EVENT_TYPE_MERGE_USERNAME_PROOF", "id": 10, "mergeUsernameProofBody": {"usernameProof": {
        "timestamp": 1752105600, "name": "alice", "owner": "0x" + "77" * 20,
        "signature": base64.b64encode(b"s" * 65).decode(), "fid": 1, "type": "USERNAME_TYPE_FNAME"}}}
    return [m.merge(reply), m.merge(url_cast), m.merge(url_reaction), m.merge(add), m.merge(remove, [add]),
            m.merge(verification), m.merge(unverify), m.merge(m.link("ADD", 1, 105, "follow", 9)),
            m.merge(m.user_data(1, 106, "name", "DISPLAY", "Ünï\\code")), m.prune(m.cast(1, 90, "pruned")),
            m.revoke(m.cast_remove(1, 91, "revoked", m.h("gone"))), signer_add, proof]


def test_staged_form_round_trips_every_field():
    import json

    batch = Batch()
    for e in _every_kind_of_event():
        batch.add_event(e)
    staged = json.loads(batch.to_staged(blocks=[7, 8]))
    assert staged["blocks"] == [7, 8]
    rebuilt = Batch.from_staged(staged)
    assert rebuilt.messages == batch.messages
    assert list(rebuilt.messages) == list(batch.messages)  # same order: rows are written in it
    assert (rebuilt.deleted_by, rebuilt.pruned, rebuilt.revoked) == (batch.deleted_by, batch.pruned, batch.revoked)
    assert rebuilt.onchain == batch.onchain and rebuilt.onchain[0].request_fid == 42
    assert rebuilt.proofs == batch.proofs
    with pytest.raises(ValueError, match="staged batch"):
        Batch.from_staged([{"type": "HUB_EVENT_TYPE_MERGE_MESSAGE"}])


def test_staged_form_stores_what_the_events_store(engine):
    """A batch applied from its staged form leaves exactly the rows the events themselves do."""
    import json

    events = _every_kind_of_event()
    apply_events(engine, *events)
    direct = snapshot(engine)
    with engine.connect() as conn:
        onchain = conn.execute(text("SELECT * FROM farcaster_onchain_events")).all()
        proofs = conn.execute(text("SELECT * FROM farcaster_username_proofs")).all()
        casts = conn.execute(text("SELECT * FROM farcaster_casts ORDER BY hash")).all()
        verifications = conn.execute(text("SELECT * FROM farcaster_verifications ORDER BY hash")).all()
    with engine.begin() as conn:
        for table in ("casts", "cast_removes", "reactions", "links", "verifications", "user_data", "profiles",
                      "onchain_events", "username_proofs"):
            conn.execute(text(f"DELETE FROM farcaster_{table}"))
    batch = Batch()
    for e in events:
        batch.add_event(e)
    with engine.begin() as conn:
        processor.apply_batch(conn, Batch.from_staged(json.loads(batch.to_staged())))
    def strip(rows):
        volatile = ("created_at", "deleted_at", "id", "updated_at", "pruned_at", "revoked_at")
        return [tuple(v for k, v in r._mapping.items() if k not in volatile) for r in rows]
    again = snapshot(engine)
    assert again[:-1] == direct[:-1] and strip(again[-1]) == strip(direct[-1])
    with engine.connect() as conn:
        assert strip(conn.execute(text("SELECT * FROM farcaster_onchain_events")).all()) == strip(onchain)
        assert strip(conn.execute(text("SELECT * FROM farcaster_username_proofs")).all()) == strip(proofs)
        assert strip(conn.execute(text("SELECT * FROM farcaster_casts ORDER BY hash")).all()) == strip(casts)
        assert strip(conn.execute(text("SELECT * FROM farcaster_verifications ORDER BY hash")).all()) == strip(verifications)
        assert conn.execute(text("SELECT mentions, mentions_positions, embeds FROM farcaster_casts WHERE hash = :h"),
                            {"h": bytes.fromhex(m.h("reply")[2:])}).one() == (
            [3, 4], [0, 2], [{"url": "https://x.test/a"}, {"castId": {"fid": 5, "hash": m.h("embedded")}}])
        assert conn.execute(text("SELECT mentions FROM farcaster_casts WHERE hash = :h"),
                            {"h": bytes.fromhex(m.h("url-cast")[2:])}).scalar() == []


def _mutations(msg: dict):
    """The message with one field at a time removed or replaced by a wrong value."""
    import copy

    bad_values = [None, True, -1, 1.5, "", "0x", "0xzz", "0x" + "ab" * 19, "not base64!", "a\x00b", [], {}, [1, -2],
                  [{"nope": 1}], "LIKE", 10**30]

    def walk(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                yield path + [k]
                yield from walk(v, path + [k])
        elif isinstance(node, list):
            for i, v in enumerate(node):
                yield path + [i]
                yield from walk(v, path + [i])

    for path in list(walk(msg, [])):
        for replacement in [...] + bad_values:
            mutated = copy.deepcopy(msg)
            parent = mutated
            for k in path[:-1]:
                parent = parent[k]
            if replacement is ...:
                if isinstance(parent, dict):
                    del parent[path[-1]]
                else:
                    parent.pop(path[-1])
            else:
                parent[path[-1]] = replacement
            yield mutated


def test_fast_parse_gives_exactly_the_checked_result_or_error():
    """parse_message's fast path must accept, reject and report exactly like the checked path."""
    from app.farcaster import messages as mm

    def outcome(parse, msg):
        try:
            return ("ok", parse(msg, "message"))
        except Exception as exc:  # noqa: BLE001 - the exact exception is the point
            return ("error", type(exc), str(exc))

    originals = []
    for e in _every_kind_of_event():
        body = next((v for k, v in e.items() if k.endswith("Body")), {})
        for key in ("message",):
            if isinstance(body, dict) and body.get(key):
                originals.append(body[key])
        originals += [d for d in (body.get("deletedMessages") or [])] if isinstance(body, dict) else []
    originals.append(m.reaction("ADD", 1, 100, "long", (2, m.h("t"))) | {"hash": m.h("x").upper().replace("0X", "0x")})
    assert len(originals) >= 12
    solana = [o for o in originals if "SOLANA" in str(o["data"])]
    fast = [o for o in originals if o not in solana]
    assert len(fast) >= 12 and all(mm._parse_fast(o) == mm._parse_checked(o) for o in fast)  # the fast path is tested
    assert any("VERIFICATION" in o["data"]["type"] for o in fast)
    checked = 0
    for original in originals:
        for msg in [original, *_mutations(original)]:
            assert outcome(mm.parse_message, msg) == outcome(mm._parse_checked, msg), msg
            checked += 1
    assert checked > 1000


def test_fast_request_fid_decoding_agrees_with_eth_abi():
    """Signer metadata in the canonical ABI layout takes a fast path; whatever it decodes must be
    what eth_abi decodes, and anything else (a flipped bit, a cut or padded end) is left to eth_abi."""
    import random

    from eth_abi import decode, encode

    from app.farcaster.messages import SIGNED_KEY_REQUEST, _canonical_request_fid, decode_request_fid

    rng = random.Random(7)
    fast_on_mutations = 0
    for _ in range(3000):
        fid = rng.choice([0, 1, rng.getrandbits(20), rng.getrandbits(64), 2**256 - 1])
        signature = rng.randbytes(rng.choice([0, 1, 31, 32, 33, 65, 100]))
        data = encode(SIGNED_KEY_REQUEST, [(fid, "0x" + rng.randbytes(20).hex(), signature, rng.getrandbits(64))])
        assert _canonical_request_fid(data) == fid == decode_request_fid(data, "metadata")
        flipped = bytearray(data)
        flipped[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        for variant in (bytes(flipped), data[:-1], data + bytes(32)):
            fast = _canonical_request_fid(variant)
            if fast is not None:
                assert fast == decode(SIGNED_KEY_REQUEST, variant)[0][0]
                fast_on_mutations += 1
            else:
                try:
                    expected = ("ok", decode(SIGNED_KEY_REQUEST, variant)[0][0])
                except Exception:  # noqa: BLE001 - eth_abi's verdict, whatever it raises
                    expected = ("error",)
                try:
                    got = ("ok", decode_request_fid(variant, "metadata"))
                except HubDataError:
                    got = ("error",)
                assert got == expected
    assert fast_on_mutations > 500  # flips in the fid or the signature bytes still decode fast


@pytest.mark.parametrize("expect_new", [False, True], ids=["lookup-all", "expect-new"])
def test_any_split_and_order_ends_in_the_rules_outcome(engine, expect_new):
    """Many messages on a few keys, applied in shuffled batches of random sizes (batches of few
    fids and many messages take the processor's "which fids have rows" path, small ones don't):
    every order and split ends with exactly the rows the Farcaster rules keep active, each loser
    deleted by a message that beats it, and the same profiles. With ``expect_new`` some batches
    repeat messages already stored, so the savepoint's fallback is taken too."""
    import random

    rng = random.Random(11)
    msgs, lww = [], {}  # lww: key -> [(timestamp, type order, hash)]

    def add(raw, key=None, order=0):
        msgs.append(raw)
        if key is not None:
            lww.setdefault(key, []).append((raw["data"]["timestamp"], order, bytes.fromhex(raw["hash"][2:])))

    for i in range(40):  # ties on purpose: few timestamps for many messages
        fid, ts = rng.choice((1, 3)), 100 + rng.randrange(8)
        kind = rng.choice(("ADD", "REMOVE"))
        target = rng.choice(((2, m.h("t1")), (2, m.h("t2"))))
        add(m.reaction(kind, fid, ts, f"re{i}", target), ("r", fid, target), 3 if kind == "ADD" else 4)
        link_target = rng.choice((5, 6))
        add(m.link(kind, fid, ts, f"li{i}", link_target), ("l", fid, link_target), 5 if kind == "ADD" else 6)
        utype = rng.choice(("USERNAME", "BIO"))
        add(m.user_data(fid, ts, f"ud{i}", utype, f"v{i}"), ("u", fid, utype))
    casts = [m.cast(1, 100 + i, f"c{i}") for i in range(10)]
    removes = [m.cast_remove(1, 90, f"cr{i}", m.h(f"c{i}")) for i in range(0, 10, 3)]
    msgs += casts + removes
    winners = {max(c)[2] for c in lww.values()}
    removed = {bytes.fromhex(m.h(f"c{i}")[2:]) for i in range(0, 10, 3)}
    beats = {h: {x[2] for x in c if x > (ts, o, h)} for c in lww.values() for ts, o, h in c}

    profiles = None
    for trial in range(8):
        with engine.begin() as conn:
            conn.execute(text("TRUNCATE farcaster_casts, farcaster_cast_removes, farcaster_reactions, "
                              "farcaster_links, farcaster_user_data, farcaster_profiles"))
        order = msgs[:]
        rng.shuffle(order)
        applied = []
        while order:
            size = rng.choice((1, 3, 40, 200))
            again = rng.sample(applied, min(len(applied), 2)) if expect_new and rng.random() < 0.3 else []
            apply_messages(engine, *order[:size], *again, expect_new=expect_new)
            applied += order[:size]
            del order[:size]
        with engine.connect() as conn:
            rows = {t: conn.execute(text(f"SELECT hash, deleted_at IS NULL AND pruned_at IS NULL AND revoked_at IS NULL, "
                                         f"deleted_by FROM farcaster_{t}")).all()
                    for t in ("reactions", "links", "user_data", "casts", "cast_removes")}
            got_profiles = conn.execute(text("SELECT * FROM farcaster_profiles ORDER BY fid")).all()
        assert sum(len(r) for r in rows.values()) == len(msgs), trial
        for table in ("reactions", "links", "user_data"):
            for hash_, active, by in rows[table]:
                assert active == (hash_ in winners), (trial, table, hash_.hex())
                assert active or by in beats[hash_], (trial, table, hash_.hex())
        for hash_, active, _by in rows["casts"]:
            assert active == (hash_ not in removed), (trial, hash_.hex())
        assert all(active for _, active, _ in rows["cast_removes"])
        got_profiles = [tuple(p)[:-1] for p in got_profiles]  # without updated_at
        assert profiles is None or got_profiles == profiles, trial
        profiles = got_profiles


def test_a_cast_remove_by_another_fid_deletes_nothing(engine):
    """A hub keeps each fid's casts in that fid's store: a CastRemove signed by another fid finds
    nothing to remove there. Whichever arrives first, and in one batch or two."""
    for first, second in ((m.cast(1, 100, "own"), m.cast_remove(2, 110, "foreign", m.h("own"))),
                          (m.cast_remove(2, 110, "foreign", m.h("own")), m.cast(1, 100, "own"))):
        apply_messages(engine, first)
        apply_messages(engine, second)
        assert state(engine, "casts", "own") == ("active",)
        with engine.begin() as conn:
            conn.execute(text("TRUNCATE farcaster_casts, farcaster_cast_removes"))
    apply_messages(engine, m.cast(1, 100, "own"), m.cast_remove(2, 110, "foreign", m.h("own")))
    assert state(engine, "casts", "own") == ("active",)
    apply_messages(engine, m.cast_remove(1, 120, "by-author", m.h("own")))
    assert state(engine, "casts", "own") == ("deleted", m.h("by-author"))


def test_expect_new_falls_back_when_rows_were_stored_and_keeps_the_transaction(engine):
    """A stream batch overlapping a backfill: some of its "new" messages are stored already.
    The savepoint's COPY fails on their unique hashes, the batch is decided again with every
    hash looked up, and the same transaction goes on to commit the rest."""
    target = (2, m.h("t"))
    old_add = m.reaction("ADD", 1, 100, "a1", target)
    cast = m.cast(1, 100, "c1")
    apply_messages(engine, old_add, cast)  # the backfill got there first
    remove = m.reaction("REMOVE", 1, 110, "rm", target)
    new_cast = m.cast(3, 120, "c2")
    batch = Batch()
    for e in (m.merge(cast), m.merge(remove, [old_add]), m.merge(new_cast)):
        batch.add_event(e)
    with engine.begin() as conn:
        result = processor.apply_batch(conn, batch, expect_new=True)
        conn.execute(text("INSERT INTO farcaster_targets (fid, is_root, manual, manual_root, followed_by_root) "
                          "VALUES (99, false, true, false, false)"))  # the transaction is still usable
    assert result.messages == 4
    assert state(engine, "reactions", "a1") == ("deleted", m.h("rm"))
    assert state(engine, "reactions", "rm") == ("active",)
    assert state(engine, "casts", "c1") == ("active",) and state(engine, "casts", "c2") == ("active",)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM farcaster_casts")).scalar() == 2
        assert conn.execute(text("SELECT count(*) FROM farcaster_targets WHERE fid = 99")).scalar() == 1
