"""Acceptance: for every reference shape in generated/snapchain (and generated/hubble in Hubble
mode), the simulator serves JSON with the same keys, in the same order, with the same value
encodings (0x-hex vs base64 vs numbers vs enum strings)."""
import pytest

from simulators.hub.testing import running_hub

from .conftest import REFERENCE, get_json, load
from .shape import key_paths, signature

LIST_ENDPOINTS = {
    "v1_castsByFid.json": ("/v1/castsByFid", {}),
    "v1_linksByFid.json": ("/v1/linksByFid", {}),
    "v1_reactionsByFid.json": ("/v1/reactionsByFid", {"reaction_type": "None"}),
    "v1_userDataByFid.json": ("/v1/userDataByFid", {}),
    "v1_verificationsByFid.json": ("/v1/verificationsByFid", {}),
}


def is_message(o):
    return isinstance(o, dict) and "hashScheme" in o


def envelope(o):
    """Replace embedded messages by their type so event envelopes compare independently of content."""
    if is_message(o):
        return {"MESSAGE": o["data"]["type"]}
    if isinstance(o, dict):
        return {k: envelope(v) for k, v in o.items()}
    if isinstance(o, list):
        return [envelope(v) for v in o]
    return o


def messages_in(o):
    if is_message(o):
        yield o
    if isinstance(o, dict):
        for v in o.values():
            yield from messages_in(v)
    elif isinstance(o, list):
        for v in o:
            yield from messages_in(v)


class Pool:
    """Everything a client can see from a hub, collected through its HTTP API."""

    def __init__(self, http, hub, fids, hubble=False):
        self.lists = {}
        self.events = []
        self.signers, self.proofs, self.id_registry = [], [], []
        for name, (path, extra) in LIST_ENDPOINTS.items():
            self.lists[name] = []
            for fid in fids:
                page = get_json(http, hub, path, fid=fid, **extra)
                assert list(page) == ["messages", "nextPageToken"]
                self.lists[name].append(page)
        for fid in fids:
            self.signers.append(get_json(http, hub, "/v1/onChainSignersByFid", fid=fid))
            self.proofs.append(get_json(http, hub, "/v1/userNameProofsByFid", fid=fid))
        if hubble:
            page = get_json(http, hub, "/v1/events", from_event_id=0)
            self.event_pages = [page]
            while page["events"]:
                self.events.extend(page["events"])
                page = get_json(http, hub, "/v1/events", from_event_id=page["nextPageEventId"])
        else:
            self.event_pages = []
            for shard in (1, 2):
                page = get_json(http, hub, "/v1/events", shard_index=shard, from_event_id=0)
                self.event_pages.append(page)
                self.events.extend(page["events"])
        self.messages = {}
        for o in [self.events, self.lists]:
            for m in messages_in(o):
                self.messages.setdefault(signature(m), m)
        self.event_sigs = {signature(envelope(e)) for e in self.events}


def assert_message_shapes_served(sample, pool):
    for m in messages_in(sample):
        assert signature(m) in pool.messages, f"no served message shaped like {m['data']['type']} {key_paths(m)}"


@pytest.fixture(scope="module")
def snap_pool(http):
    with running_hub(num_fids=150, seed=11, revocation="revoke") as hub:
        hub.advance(60)
        yield hub, Pool(http, hub, range(1, 151))


SNAPCHAIN_FILES = sorted(p.name for p in (REFERENCE / "snapchain").glob("*.json"))
HUBBLE_FILES = sorted(p.name for p in (REFERENCE / "hubble").glob("*.json"))


def test_reference_files_present():
    assert len(SNAPCHAIN_FILES) >= 27 and len(HUBBLE_FILES) >= 25, REFERENCE


@pytest.mark.parametrize("name", SNAPCHAIN_FILES)
def test_snapchain_shape(name, reference_dir, snap_pool, http):
    hub, pool = snap_pool
    sample = load(reference_dir / "snapchain" / name)
    if name.startswith("event__"):
        assert signature(envelope(sample)) in pool.event_sigs, f"no served event shaped like {name}"
        assert_message_shapes_served(sample, pool)
    elif name in LIST_ENDPOINTS:
        assert list(sample) == ["messages", "nextPageToken"]
        assert sample["nextPageToken"] == ""
        assert any(p["nextPageToken"] == "" for p in pool.lists[name])
        assert_message_shapes_served(sample, pool)
    elif name == "v1_castById.json":
        target = next(m for m in pool.messages.values() if signature(m) == signature(sample))
        got = get_json(http, hub, "/v1/castById", fid=target["data"]["fid"], hash=target["hash"])
        assert signature(got) == signature(sample)
        assert key_paths(got) == key_paths(sample)
    elif name == "v1_events__shard1_page.json":
        assert list(sample) == ["events"]
        assert all(list(p) == ["events"] for p in pool.event_pages)
        for ev in sample["events"]:
            assert signature(envelope(ev)) in pool.event_sigs
        assert_message_shapes_served(sample, pool)
    elif name == "v1_onChainSignersByFid.json":
        assert any(signature(p) == signature(sample) for p in pool.signers)
    elif name == "v1_userNameProofsByFid.json":
        assert any(signature(p) == signature(sample) for p in pool.proofs)
    elif name == "v1_onChainIdRegistryEventByAddress.json":
        reg = get_json(http, hub, "/v1/onChainEventsByFid", fid=3, event_type="EVENT_TYPE_ID_REGISTER")["events"][0]
        got = get_json(http, hub, "/v1/onChainIdRegistryEventByAddress", address=reg["idRegisterEventBody"]["to"])
        assert signature(got) == signature(sample)
        assert key_paths(got) == key_paths(sample)
    else:
        pytest.fail(f"no shape check for new reference file {name}")


@pytest.fixture(scope="module")
def hubble_pool(http):
    with running_hub(num_fids=150, seed=11, hubble=True) as hub:
        hub.advance(60)
        yield hub, Pool(http, hub, range(1, 151), hubble=True)


@pytest.mark.parametrize("name", HUBBLE_FILES)
def test_hubble_shape(name, reference_dir, hubble_pool, http):
    hub, pool = hubble_pool
    sample = load(reference_dir / "hubble" / name)
    if name.startswith("event__"):
        assert signature(envelope(sample)) in pool.event_sigs, f"no served event shaped like {name}"
        assert_message_shapes_served(sample, pool)
    elif name in LIST_ENDPOINTS:
        assert_message_shapes_served(sample, pool)
    elif name == "v1_events_page.json":
        assert list(sample) == ["nextPageEventId", "events"]
        assert all(list(p) == ["nextPageEventId", "events"] for p in pool.event_pages)
        assert all(len(p["events"]) <= 100 for p in pool.event_pages)
        for ev in sample["events"]:
            assert signature(envelope(ev)) in pool.event_sigs
    elif name == "v1_castById.json":
        target = next(m for m in pool.messages.values() if signature(m) == signature(sample))
        got = get_json(http, hub, "/v1/castById", fid=target["data"]["fid"], hash=target["hash"])
        assert signature(got) == signature(sample)
    elif name == "v1_onChainSignersByFid.json":
        assert any(signature(p) == signature(sample) for p in pool.signers)
    elif name == "v1_onChainIdRegistryEventByAddress.json":
        reg = get_json(http, hub, "/v1/onChainEventsByFid", fid=3, event_type="EVENT_TYPE_ID_REGISTER")["events"][0]
        got = get_json(http, hub, "/v1/onChainIdRegistryEventByAddress", address=reg["idRegisterEventBody"]["to"])
        assert signature(got) == signature(sample)
    else:
        pytest.fail(f"no shape check for new reference file {name}")
