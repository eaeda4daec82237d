"""A FedAvg client: trains locally from the round's global model and sends its update masked.

The update leaves the client only inside a pairwise-masked vector; with DP on, it is clipped
and carries the client's share of the Gaussian noise before masking. The client keeps its
recorded round updates, and at the end sends masked copies for every coalition it belongs to
(masks shared with that coalition's members only), from which the server rebuilds coalition
models. Note: a singleton coalition's sum is the client's own update, so contribution scoring
shows the server each client's (noised, if DP is on) round updates.
"""

from __future__ import annotations

import numpy as np

from compute.channel import Channel
from compute.errors import MalformedMessage, ProtocolViolation
from compute.fl.dp import clip, noise_share
from compute.fl.fedavg.params import FedAvgParams, coalitions, model_hash
from compute.fl.models import sgd
from compute.fl.pairwise_masking import mask_vector
from compute.fl.hetero_lr.wire import pack, unpack
from compute.party import Address
from compute.session import Role, RoleOutput

GLOBAL_MODEL = "global-model"
MASKED_UPDATE = "masked-update"
COALITION_UPDATES = "coalition-updates"
FINAL_MODEL = "final-model"


def context(job_id: int, round_index: int, coalition: tuple[int, ...] | None) -> bytes:
    """The PRG context of a mask: job, round and (for contribution) the coalition."""
    label = "all" if coalition is None else ",".join(map(str, coalition))
    return f"custos/fedavg/{job_id}/{round_index}/{label}".encode()


def parse_model(data: bytes, sender: str, step: str, size: int, round_index: int | None = None) -> dict:
    """A model message {round, model, hash}, checked: size, finiteness, hash, round."""
    body = unpack(data, sender, step)
    try:
        model = np.asarray(body["model"], dtype=np.float64)
        claimed = bytes.fromhex(body["hash"])
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedMessage(sender, step, "not a model message") from exc
    if model.shape != (size,) or not np.all(np.isfinite(model)) or model_hash(model) != claimed:
        raise ProtocolViolation(sender, step, "model is malformed or does not match its hash")
    if round_index is not None and body.get("round") != round_index:
        raise ProtocolViolation(sender, step, f"model for round {body.get('round')}, expected {round_index}")
    body["model"] = model
    return body


def client_role(X: np.ndarray, y: np.ndarray, server: Address, clients: list[Address], params: FedAvgParams) -> Role:
    """One data holder's part."""
    size = params.build_model(X.shape[1]).size
    model = params.build_model(X.shape[1])

    def role(ch: Channel) -> RoleOutput:
        me = clients.index(ch.address)
        rng = np.random.default_rng()  # DP noise: fresh OS entropy, never the shared seed
        recorded: dict[int, np.ndarray] = {}
        for t in range(params.rounds):
            sampled = params.sampled(t, clients)
            if ch.address not in sampled:
                continue
            current = parse_model(ch.recv(server, GLOBAL_MODEL), server, GLOBAL_MODEL, size, t)["model"]
            update = sgd(model, current, X, y, epochs=params.local_epochs, lr=params.learning_rate,
                         batch_size=params.batch_size, seed=params.seed * 1_000_003 + t) - current
            if params.dp is not None:
                update = clip(update, params.dp.clip_norm) + noise_share(size, params.dp, len(sampled), rng)
            recorded[t] = update
            members = [ch.job.roster[a] for a in sampled]
            masked = mask_vector(ch.me, members, context(ch.job.job_id, t, None), update)
            ch.send(server, MASKED_UPDATE, masked.tobytes())
        if params.contribution:
            parts = []
            for coalition in coalitions(len(clients)):
                if me not in coalition:
                    continue
                for t, update in recorded.items():
                    members = [a for a in params.sampled(t, clients) if clients.index(a) in coalition]
                    parts.append(mask_vector(ch.me, [ch.job.roster[a] for a in members], context(ch.job.job_id, t, coalition), update))
            ch.send(server, COALITION_UPDATES, b"".join(p.tobytes() for p in parts))
        final = parse_model(ch.recv(server, FINAL_MODEL), server, FINAL_MODEL, size)
        return RoleOutput({"model": final["model"], "rounds_taken": sorted(recorded)}, bytes.fromhex(final["hash"]),
                          metadata={"rows": len(y)})

    return role


def encode_model(round_index: int | None, model: np.ndarray, **extra: object) -> bytes:
    """A model message."""
    return pack({"round": round_index, "model": model.tolist(), "hash": model_hash(model).hex(), **extra})
