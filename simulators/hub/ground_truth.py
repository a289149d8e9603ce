"""Ground truth for indexer tests: the expected target set and, per target fid, every message
by state (active / deleted by which message / pruned / revoked) at a stream position.

Target rules (the indexer's): roots = the given roots + every user who added a signer whose
SignedKeyRequestMetadata.requestFid is one of the client apps; targets = roots + every fid a
root follows (active LINK_ADD of type "follow"). Followed fids do not spawn further targets,
so this is already the fixpoint. A signer add counts once merged, even if the key is later removed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from . import protobuf as pb
from .model import ACTIVE, DELETED, PRUNED, REVOKED


def state_at(st, m, position: int):
    """(state, deleted_by) of message ``m`` at ``position``, or None if it did not exist yet."""
    born = st.born.get(m.hash, 0)
    if born > position:
        return None
    state, by = ACTIVE, None
    for pos, s, b in st.changes.get(m.hash, ()):
        if pos <= position:
            state, by = s, b
    return state, by


@dataclass
class FidTruth:
    fid: int
    active: dict = field(default_factory=dict)    # "0x<hash>" -> MESSAGE_TYPE_* name
    deleted: dict = field(default_factory=dict)   # "0x<hash>" -> "0x<hash of the displacing message>"
    pruned: set = field(default_factory=set)
    revoked: set = field(default_factory=set)
    types: dict = field(default_factory=dict)     # "0x<hash>" -> MESSAGE_TYPE_* name, every state
    observable: set = field(default_factory=set)  # non-active hashes that were ever served in an event

    def to_dict(self) -> dict:
        return {"fid": self.fid, "active": self.active, "deleted": self.deleted,
                "pruned": sorted(self.pruned), "revoked": sorted(self.revoked),
                "types": self.types, "observable": sorted(self.observable)}


@dataclass
class GroundTruth:
    position: int
    roots: set
    app_users: dict      # client app fid -> users who added one of its signers
    targets: set
    fids: dict           # fid -> FidTruth for every target

    def to_dict(self) -> dict:
        return {"position": self.position, "roots": sorted(self.roots),
                "app_users": {str(k): sorted(v) for k, v in self.app_users.items()},
                "targets": sorted(self.targets), "fids": {str(f): t.to_dict() for f, t in self.fids.items()}}


def follows_at(net, fid: int, position: int) -> set:
    st = net.fid_state(fid)
    out = set()
    for m in st.messages.values():
        if m.type == pb.LINK_ADD and m.body["type"] == "follow":
            s = state_at(st, m, position)
            if s is not None and s[0] == ACTIVE:
                out.add(m.body["target_fid"])
    return out


def fid_truth(net, fid: int, position: int) -> FidTruth:
    st = net.fid_state(fid)
    t = FidTruth(fid)
    for m in st.messages.values():
        s = state_at(st, m, position)
        if s is None:
            continue
        h = "0x" + m.hash.hex()
        t.types[h] = pb.MESSAGE_TYPE_NAMES[m.type]
        state, by = s
        if state == ACTIVE:
            t.active[h] = t.types[h]
            continue
        if state == DELETED:
            t.deleted[h] = "0x" + by.hex()
        elif state == PRUNED:
            t.pruned.add(h)
        elif state == REVOKED:
            t.revoked.add(h)
        if m.observed:
            t.observable.add(h)
    return t


def compute(net, roots=(), client_apps=(), at: int | None = None) -> GroundTruth:
    with net.lock:
        position = net.position if at is None else at
        if position > net.position:
            raise ValueError(f"position {position} not revealed yet (at {net.position})")
        apps = set(client_apps)
        app_users = {a: set() for a in apps}
        plan = net.plan
        for i, signer_apps in enumerate(plan.signer_apps):   # genesis signer adds
            for a in signer_apps:
                if a in apps:
                    app_users[a].add(i + 1)
        for pos, fid, app in net.signer_adds:                 # signer adds from the stream
            if pos <= position and app in apps:
                app_users[app].add(fid)
        all_roots = set(roots).union(*app_users.values()) if app_users else set(roots)
        targets = set(all_roots)
        for root in all_roots:
            targets |= follows_at(net, root, position)
        fids = {f: fid_truth(net, f, position) for f in sorted(targets) if net.has_fid(f)}
        return GroundTruth(position, all_roots, app_users, targets, fids)
