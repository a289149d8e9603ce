"""The Snapchain (and Hubble-mode) HTTP API over a ``Network``: request parsing, paging and
errors exactly as the hub does them. Transport-free: ``handle(path, query) -> Response``."""
from __future__ import annotations

import base64
import binascii
import bisect
import json
from dataclasses import dataclass

from . import protobuf as pb
from .stream import GASLESS_SIGNER_LIMIT
from .shapes import HUBBLE, SNAPCHAIN, dumps, event_json, message_json, onchain_json, proof_json

PAGE_SIZE_MAX = 1000
HUBBLE_EVENTS_PAGE = 100
EVENT_TYPES = ("EVENT_TYPE_SIGNER", "EVENT_TYPE_SIGNER_MIGRATED", "EVENT_TYPE_ID_REGISTER",
               "EVENT_TYPE_STORAGE_RENT", "EVENT_TYPE_TIER_PURCHASE", "EVENT_TYPE_CHANNEL_REGISTER")
REACTION_TYPES = {"Like": pb.REACTION_LIKE, "Recast": pb.REACTION_RECAST, "None": None,
                  "REACTION_TYPE_LIKE": pb.REACTION_LIKE, "REACTION_TYPE_RECAST": pb.REACTION_RECAST,
                  "REACTION_TYPE_NONE": None, "1": pb.REACTION_LIKE, "2": pb.REACTION_RECAST, "0": None}


@dataclass
class Response:
    status: int
    body: str
    content_type: str = "application/json"
    headers: tuple = ()


class BadQuery(Exception):
    """serde_qs failure: 400 text/plain ``Invalid query parameters: ...``."""


class HubError(Exception):
    """Handler failure: 400 JSON ``{"error", "error_detail"}`` (not-found is a 400 too)."""

    def __init__(self, error: str, code: str, message: str):
        super().__init__(message)
        self.error = error
        self.code = code
        self.message = message
        self.detail = f'status: {code}, message: "{message}", details: [], metadata: MetadataMap {{ headers: {{}} }}'


def _first(q: dict, *names):
    for n in names:
        if n in q:
            return q[n][0]
    return None


def _u64(q, *names, required=True):
    v = _first(q, *names)
    if v is None:
        if required:
            raise BadQuery(f"missing field `{names[0]}`")
        return None
    try:
        n = int(v, 10)
        if n < 0:
            raise ValueError
        return n
    except ValueError:
        raise BadQuery(f"failed to parse `{names[0]}`: invalid digit found in string") from None


def _bool(q, name):
    v = _first(q, name)
    if v is None or v == "":
        return False
    if v in ("true", "false"):
        return v == "true"
    raise BadQuery(f"failed to parse `{name}`: provided string was not `true` or `false`")


def _hash(q, name, required=True):
    v = _first(q, name)
    if v is None:
        if required:
            raise BadQuery(f"missing field `{name}`")
        return None
    try:
        return bytes.fromhex(v[2:] if v.startswith("0x") else v)
    except ValueError:
        raise HubError("Invalid hash", "InvalidArgument", f"invalid hex for {name}") from None


def _paging(q):
    size = _u64(q, "pageSize", "page_size", required=False)
    size = PAGE_SIZE_MAX if not size else min(size, PAGE_SIZE_MAX)
    token = _first(q, "pageToken", "page_token")
    after = None
    if token:
        try:   # clients that forget to URL-encode send '+' as a space; the hub turns it back
            after = base64.b64decode(token.replace(" ", "+"), validate=True)
        except (binascii.Error, ValueError):
            raise BadQuery("failed to parse `pageToken`: Invalid padding") from None
    return size, after, _bool(q, "reverse")


def _token(key: bytes) -> str:
    return base64.b64encode(key).decode()


class HubApi:
    def __init__(self, network, hubble: bool = False, version: str = "0.14.2"):
        self.net = network
        self.hubble = hubble
        self.version = version
        self._custody_index = None
        self.routes = {
            "/v1/info": self.info, "/v1/fids": self.fids, "/v1/castById": self.cast_by_id,
            "/v1/castsByFid": self.casts_by_fid, "/v1/castsByParent": self.casts_by_parent,
            "/v1/castsByMention": self.casts_by_mention, "/v1/reactionsByFid": self.reactions_by_fid,
            "/v1/reactionsByCast": self.reactions_by_cast, "/v1/linksByFid": self.links_by_fid,
            "/v1/linksByTargetFid": self.links_by_target_fid, "/v1/userDataByFid": self.user_data_by_fid,
            "/v1/verificationsByFid": self.verifications_by_fid, "/v1/onChainEventsByFid": self.onchain_events_by_fid,
            "/v1/onChainSignersByFid": self.onchain_signers_by_fid, "/v1/signersByFid": self.signers_by_fid, "/v1/userNameProofsByFid": self.proofs_by_fid,
            "/v1/storageLimitsByFid": self.storage_limits_by_fid, "/v1/events": self.events,
            "/v1/eventById": self.event_by_id, "/v1/onChainIdRegistryEventByAddress": self.id_registry_by_address,
            "/v1/reactionById": self.reaction_by_id, "/v1/reactionsByTarget": self.reactions_by_target,
            "/v1/linkById": self.link_by_id, "/v1/userNameProofByName": self.proof_by_name,
        }
        self._fname_index = None

    @property
    def flavor(self) -> str:
        return HUBBLE if self.hubble else SNAPCHAIN

    def handle(self, path: str, query: dict) -> Response:
        route = self.routes.get(path)
        if route is None or (self.hubble and path == "/v1/signersByFid"):  # Hubble: onChainSignersByFid only
            return Response(404, "Not Found", "text/plain")
        try:
            return Response(200, route(query))
        except BadQuery as e:
            if self.hubble:
                return self._hubble_error(path, "bad_request.validation_failure", str(e))
            return Response(400, f"Invalid query parameters: {e}", "text/plain")
        except HubError as e:
            if self.hubble:
                code = "not_found" if e.code == "NotFound" else "bad_request.validation_failure"
                return self._hubble_error(path, code, e.message)
            return Response(400, dumps({"error": e.error, "error_detail": e.detail}))

    @staticmethod
    def _hubble_error(path: str, errcode: str, details: str) -> Response:
        """Hubble 1.19: 400 with the serialized HubError (``{"error"}`` for /v1/events)."""
        if path == "/v1/events":
            return Response(400, dumps({"error": details}))
        return Response(400, dumps({"errCode": errcode, "presentable": False, "name": "HubError",
                                    "code": 3 if errcode.startswith("bad_request") else 5, "details": details,
                                    "metadata": {"errcode": [errcode]}}))

    # -- helpers ---------------------------------------------------------------------------
    def _state(self, fid):
        return self.net.fid_state(fid) if self.net.has_fid(fid) else None

    def _paged(self, store, q, pred=None) -> str:
        size, after, reverse = _paging(q)
        with self.net.lock:
            if store is None:
                items, more = [], False
            elif pred is None:
                items = store.page(after, size + 1, reverse)
                more = len(items) > size
                items = items[:size]
            else:   # filtered scan: walk pages until ``size`` matches
                items, cursor, more = [], after, False
                while True:
                    chunk = store.page(cursor, 2048, reverse)
                    if not chunk:
                        break
                    for m in chunk:
                        if pred(m):
                            if len(items) == size:
                                more = True
                                break
                            items.append(m)
                    if more:
                        break
                    cursor = chunk[-1].ts_hash
        flavor = self.flavor
        token = _token(items[-1].ts_hash) if more else ""
        return ('{"messages":[' + ",".join(message_json(m, flavor) for m in items)
                + '],"nextPageToken":"' + token + '"}')

    def _store(self, q, name, fid_param="fid"):
        st = self._state(_u64(q, fid_param))
        return None if st is None else st.stores[name]

    # -- info / fids -----------------------------------------------------------------------
    def info(self, q) -> str:
        net = self.net
        with net.lock:
            total = net.total_messages
            n_fids = net.config.num_fids
            if self.hubble:
                return dumps({"version": "1.19.3", "isSyncing": False, "nickname": "switchyard-hub-sim",
                              "rootHash": "0x" + "00" * 20,
                              "dbStats": {"numMessages": total, "numFidEvents": n_fids, "numFnameEvents": n_fids},
                              "peerId": "12D3KooWSimulatedHubbleNode", "hubOperatorFid": 1})
            shards = []
            for s in sorted(net.stream.shards, reverse=True):   # HashMap order on the real node: don't rely on it
                fids = len(net.shard_fids[s])
                shards.append({"shardId": s, "maxHeight": net.stream.max_height(s),
                               "numMessages": total * fids // max(n_fids, 1), "numFidRegistrations": fids,
                               "approxSize": total * fids // max(n_fids, 1) * 300, "blockDelay": 0, "mempoolSize": 0})
            shard0 = {"shardId": 0, "maxHeight": net.position, "numMessages": 0, "numFidRegistrations": 0,
                      "approxSize": 0, "blockDelay": 0, "mempoolSize": 0}
            return dumps({"dbStats": {"numMessages": total, "numFidRegistrations": n_fids, "approxSize": total * 300},
                          "numShards": net.num_shards, "shardInfos": [shard0] + shards, "version": self.version,
                          "peer_id": "12D3KooWSwitchyardHubSimulator1111111111111111111", "nextEngineVersionTimestamp": 0})

    def fids(self, q) -> str:
        shard = _u64(q, "shard_id")
        size, after, reverse = _paging(q)
        fids = self.net.shard_fids.get(shard)
        if fids is None:
            raise HubError("Failed to get fids", "InvalidArgument", "Invalid shard id")
        start = 0 if after is None else int.from_bytes(after, "big")
        if not reverse:
            i = bisect.bisect_right(fids, start) if after is not None else 0
            page = fids[i:i + size + 1]
        else:
            j = bisect.bisect_left(fids, start) if after is not None else len(fids)
            page = fids[max(0, j - size - 1):j][::-1]
        out = {"fids": page[:size]}
        if len(page) > size:   # fids / on-chain responses omit the key at the end
            out["nextPageToken"] = _token(page[size - 1].to_bytes(8, "big"))
        return dumps(out)

    # -- casts -----------------------------------------------------------------------------
    def cast_by_id(self, q) -> str:
        fid, h = _u64(q, "fid"), _hash(q, "hash")
        st = self._state(fid)
        m = st.messages.get(h) if st else None
        if m is None or m.type != pb.CAST_ADD or m.state != "active":
            raise HubError("Failed to get cast", "NotFound", f"NotFound: cast {fid}/0x{h.hex()} not found")
        return message_json(m, self.flavor)

    def casts_by_fid(self, q) -> str:
        store = self._store(q, "casts")
        start = _u64(q, "startTimestamp", "start_timestamp", required=False)
        stop = _u64(q, "stopTimestamp", "stop_timestamp", required=False)
        pred = None
        if start is not None or stop is not None:
            pred = lambda m: (start is None or m.timestamp >= start) and (stop is None or m.timestamp <= stop)  # noqa: E731
        return self._paged(store, q, pred)

    def casts_by_parent(self, q) -> str:
        url = _first(q, "url")
        if url is not None:
            key = url
        else:
            key = (_u64(q, "fid"), _hash(q, "hash"))
        return self._paged(self.net.ensure_indexes()["parent"].get(key), q)

    def casts_by_mention(self, q) -> str:
        return self._paged(self.net.ensure_indexes()["mention"].get(_u64(q, "fid")), q)

    # -- reactions / links -------------------------------------------------------------------
    def _reaction_type(self, q, required):
        v = _first(q, "reaction_type")
        if v is None:
            if required:
                raise BadQuery("missing field `reaction_type`")
            return None
        if v not in REACTION_TYPES:
            raise BadQuery(f"failed to parse `reaction_type`: unknown variant `{v}`, expected one of `None`, `Like`, `Recast`")
        return REACTION_TYPES[v]

    def reactions_by_fid(self, q) -> str:
        store = self._store(q, "reactions")
        rtype = self._reaction_type(q, required=not self.hubble)
        return self._paged(store, q, None if rtype is None else (lambda m: m.body["type"] == rtype))

    def reactions_by_cast(self, q) -> str:
        key = (_u64(q, "target_fid"), _hash(q, "target_hash"))
        rtype = self._reaction_type(q, required=False)
        store = self.net.ensure_indexes()["reaction"].get(key)
        return self._paged(store, q, None if rtype is None else (lambda m: m.body["type"] == rtype))

    def reaction_by_id(self, q) -> str:
        fid = _u64(q, "fid")
        rtype = self._reaction_type(q, required=True)
        url = _first(q, "target_url")
        target = None if url is not None else (_u64(q, "target_fid"), _hash(q, "target_hash"))
        st = self._state(fid)
        with self.net.lock:
            m = st.crdt.get(("reaction", rtype, target, url)) if st else None
        if m is None or m.type != pb.REACTION_ADD or m.state != "active":
            raise HubError("Failed to get reaction", "NotFound", "NotFound: reaction not found")
        return message_json(m, self.flavor)

    def reactions_by_target(self, q) -> str:
        url = _first(q, "url")
        if url is None:
            raise BadQuery("missing field `url`")
        rtype = self._reaction_type(q, required=False)
        store = self.net.ensure_indexes()["reaction"].get(url)
        return self._paged(store, q, None if rtype is None else (lambda m: m.body["type"] == rtype))

    def link_by_id(self, q) -> str:
        fid, target = _u64(q, "fid"), _u64(q, "target_fid")
        ltype = _first(q, "link_type") or "follow"
        st = self._state(fid)
        with self.net.lock:
            m = st.crdt.get(("link", ltype, target)) if st else None
        if m is None or m.type != pb.LINK_ADD or m.state != "active":
            raise HubError("Failed to get link", "NotFound", "NotFound: link not found")
        return message_json(m, self.flavor)

    def proof_by_name(self, q) -> str:
        name = _first(q, "name")
        if name is None:
            raise BadQuery("missing field `name`")
        if self._fname_index is None:   # genesis fnames; the stream records later ones on the network
            self._fname_index = {self.net.gen.fname(f): f for f in self.net.plan.fids}
        fid = self.net.fname_owners.get(name) or self._fname_index.get(name)
        st = self._state(fid) if fid else None
        proof = next((p for p in st.proofs if p.name == name), None) if st else None
        if proof is None:
            raise HubError("Failed to get username proof", "NotFound", "NotFound: username proof not found")
        return proof_json(proof, self.flavor)

    def links_by_fid(self, q) -> str:
        store = self._store(q, "links")
        lt = _first(q, "link_type")
        return self._paged(store, q, None if lt is None else (lambda m: m.body["type"] == lt))

    def links_by_target_fid(self, q) -> str:
        store = self.net.ensure_indexes()["follower"].get(_u64(q, "target_fid"))
        lt = _first(q, "link_type")
        return self._paged(store, q, None if lt is None else (lambda m: m.body["type"] == lt))

    def user_data_by_fid(self, q) -> str:
        return self._paged(self._store(q, "user_data"), q)   # user_data_type is ignored, as on Snapchain

    def verifications_by_fid(self, q) -> str:
        return self._paged(self._store(q, "verifications"), q)   # address is ignored, as on Snapchain

    # -- on-chain / proofs / storage -------------------------------------------------------
    def _onchain_page(self, events, q) -> str:
        size, after, reverse = _paging(q)
        events = sorted(events, key=lambda e: e.sort_key, reverse=reverse)
        if after is not None:
            events = [e for e in events if (e.sort_key > after if not reverse else e.sort_key < after)]
        out = '{"events":[' + ",".join(onchain_json(e, self.flavor) for e in events[:size]) + "]"
        if len(events) > size:
            out += ',"nextPageToken":"' + _token(events[size - 1].sort_key) + '"'
        return out + "}"

    def onchain_events_by_fid(self, q) -> str:
        fid = _u64(q, "fid")
        etype = _first(q, "event_type")
        if etype is None:
            raise BadQuery("missing field `event_type`")
        if etype not in EVENT_TYPES:
            raise BadQuery(f"failed to parse `event_type`: unknown variant `{etype}`")
        st = self._state(fid)
        with self.net.lock:
            events = [e for e in st.onchain if e.type == etype] if st else []
        return self._onchain_page(events, q)

    def onchain_signers_by_fid(self, q) -> str:
        st = self._state(_u64(q, "fid"))
        with self.net.lock:
            events = []
            if st:
                active = {s.public_key for s, ok in zip(st.signers, st.signer_active) if ok}
                events = [e for e in st.onchain if e.body["kind"] == "signer" and e.body["event_type"] == 1
                          and e.body["key"] in active]
        return self._onchain_page(events, q)

    def signers_by_fid(self, q) -> str:
        """On-chain and gasless signers together (http_server.rs ``SignersByFidResponse``): active
        keys ordered by key, paged by ``page_size``/``pageSize`` and a base64 token."""
        fid = _u64(q, "fid")
        size, after, reverse = _paging(q)
        requesters = [int(v) for v in q.get("requesterFids", []) + q.get("requester_fids", []) if str(v).isdigit()]
        st = self._state(fid)
        entries: list[tuple[bytes, dict]] = []
        gasless = []
        nonce = 0
        with self.net.lock:
            if st:
                active = {s.public_key for s, ok in zip(st.signers, st.signer_active) if ok}
                for e in st.onchain:
                    if e.body["kind"] == "signer" and e.body["event_type"] == 1 and e.body["key"] in active:
                        entries.append((e.body["key"], {"source": "SIGNER_SOURCE_ONCHAIN", "key": "0x" + e.body["key"].hex(),
                                                        "keyType": 1, "fid": fid,
                                                        "requestFid": e.body["app_fid"] or None,
                                                        "onChainEvent": json.loads(onchain_json(e, self.flavor))}))
                gasless = [g for g in st.gasless if g["active"]]
                for g in gasless:
                    key = g["signer"].public_key
                    expires = g["added_at"] + g["ttl"]
                    entries.append((key, {"source": "SIGNER_SOURCE_OFFCHAIN", "key": "0x" + key.hex(), "keyType": 1,
                                          "fid": fid, "addedAt": g["added_at"], "lastUsedAt": g["added_at"],
                                          "ttl": g["ttl"], "expiresAt": expires,
                                          "scopes": [pb.MESSAGE_TYPE_NAMES[t] for t in g["scopes"]],
                                          "requestFid": g["app"], "nonce": g["nonce"]}))
                nonce = st.user_nonce
        for _, e in entries:  # serde: skip_serializing_if = None
            if e.get("requestFid") is None:
                e.pop("requestFid", None)
        entries.sort(key=lambda kv: kv[0], reverse=reverse)
        if after is not None:
            entries = [kv for kv in entries if (kv[0] > after if not reverse else kv[0] < after)]
        out = {"signers": [e for _, e in entries[:size]]}
        if len(entries) > size:
            out["nextPageToken"] = _token(entries[size - 1][0])
        out.update({"gaslessSignerCount": len(gasless), "gaslessSignerLimit": GASLESS_SIGNER_LIMIT,
                    "currentUserNonce": nonce})
        if requesters:
            out["requesterFidNonces"] = {str(r): 0 for r in requesters}
        return dumps(out)

    def id_registry_by_address(self, q) -> str:
        addr = _hash(q, "address")
        if self._custody_index is None:
            self._custody_index = {self.net.gen.custody(f): f for f in self.net.plan.fids}
        fid = self._custody_index.get(addr)
        if fid is None:
            raise HubError("Failed to get id registry event", "NotFound", "id registry event not found")
        st = self.net.fid_state(fid)
        ev = next(e for e in st.onchain if e.type == "EVENT_TYPE_ID_REGISTER")
        return onchain_json(ev, self.flavor)

    def proofs_by_fid(self, q) -> str:
        st = self._state(_u64(q, "fid"))
        proofs = list(st.proofs) if st else []
        return '{"proofs":[' + ",".join(proof_json(p, self.flavor) for p in proofs) + "]}"

    def storage_limits_by_fid(self, q) -> str:
        st = self._state(_u64(q, "fid"))
        units = 0
        used = {}
        full: set = set()
        earliest: dict = {}
        with self.net.lock:
            if st:
                units = sum(e.body["units"] for e in st.onchain if e.body["kind"] == "storage_rent")
                used = {k: len(v) for k, v in st.stores.items()}
                used["casts"] = len(st.stores["casts"])
                used["proofs"] = len(st.proofs)
                full = set(st.full_stores)
                earliest = {k: v.items[0].timestamp for k, v in st.stores.items() if v.items}
        per_unit = (("Casts", "CASTS", 5000, "casts"), ("Links", "LINKS", 2500, "links"),
                    ("Reactions", "REACTIONS", 2500, "reactions"), ("UserData", "USER_DATA", 50, "user_data"),
                    ("Verifications", "VERIFICATIONS", 25, "verifications"),
                    ("UsernameProofs", "USERNAME_PROOFS", 5, "proofs"))
        # A store that was pruned is at its limit (a hub prunes only then); its earliest message is named.
        limits = [{"storeType": t, "name": n, "limit": used.get(k, 0) if k in full else lim * units,
                   "used": used.get(k, 0), "earliestTimestamp": earliest.get(k, 0) if k in full else 0,
                   "earliestHash": []} for t, n, lim, k in per_unit]
        return dumps({"limits": limits, "units": units,
                      "unitDetails": [{"unitType": "UnitTypeLegacy", "unitSize": 0},
                                      {"unitType": "UnitType2024", "unitSize": units},
                                      {"unitType": "UnitType2025", "unitSize": 0}],
                      "tier_subscriptions": []})

    # -- events ----------------------------------------------------------------------------
    def events(self, q) -> str:
        stream = self.net.stream
        if self.hubble:
            from_id = _u64(q, "from_event_id", required=False) or 0
            page = stream.hubble_page(from_id, HUBBLE_EVENTS_PAGE)
            next_id = page[-1].hubble_id + 1 if page else from_id + 1
            return (f'{{"nextPageEventId":{next_id},"events":['
                    + ",".join(event_json(e, HUBBLE) for e in page) + "]}")
        shard = _u64(q, "shard_index", required=False)
        from_id = _u64(q, "from_event_id", required=False) or 0
        stop = _u64(q, "stop_id", required=False)
        size = _u64(q, "pageSize", "page_size", required=False)
        size = PAGE_SIZE_MAX if not size else min(size, PAGE_SIZE_MAX)
        if shard is None:   # the node concatenates every data shard; clients must not rely on it
            shards = list(stream.shards)
        elif shard not in stream.shards:
            raise HubError("Failed to get events", "InvalidArgument", f"no events store for shard {shard}")
        else:
            shards = [shard]
        page = [e for s in shards for e in stream.events(s, from_id, size, stop)]
        return '{"events":[' + ",".join(event_json(e) for e in page) + "]}"

    def event_by_id(self, q) -> str:
        stream = self.net.stream
        event_id = _u64(q, "event_id")
        if self.hubble:
            with self.net.lock:
                page = stream.hubble_page(event_id, 1)
            if not page or page[0].hubble_id != event_id:
                raise HubError("Failed to get event", "NotFound", "event not found")
            return event_json(page[0], HUBBLE)
        shard = _u64(q, "shard_index")
        if shard not in stream.shards:
            raise HubError("Failed to get event", "InvalidArgument", f"no events store for shard {shard}")
        ev = stream.event_by_id(shard, event_id)
        if ev is None:
            raise HubError("Failed to get event", "NotFound", "event not found")
        return event_json(ev)
