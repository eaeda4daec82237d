"""A FedAvg client: trains locally from the round's global model and sends its update masked.

Each round's update leaves the client only as its input to `compute.secagg` (Bonawitz secure
aggregation, run on the job's channel); with DP on, it is clipped and carries the client's
share of the Gaussian noise first. The client keeps its recorded round updates; for
contribution scores it then joins one secure aggregation per (coalition, round) it belongs
to, from which the server rebuilds coalition models. A singleton coalition's "sum" is the
client's own update, sent as is: contribution scoring shows the server each client's
(noised, if DP is on) round updates — the price of gradient-based Shapley.
"""

from __future__ import annotations

import numpy as np

from compute.channel import Channel
from compute.errors import MalformedMessage, ProtocolViolation
from compute.fl.dp import clip, noise_share
from compute.fl.fedavg.params import FedAvgParams, coalitions, model_hash
from compute.fl.hetero_lr.wire import pack, unpack
from compute.fl.models import sgd
from compute.party import Address
from compute.secagg import AggregationParams
from compute.secagg.protocol import client_role as secagg_client
from compute.session import Role, RoleOutput

GLOBAL_MODEL = "global-model"
SINGLE_UPDATE = "single-update"
FINAL_MODEL = "final-model"
FRACTION_BITS = 32


def aggregation(members: int, size: int, params: FedAvgParams, *, all_needed: bool = False) -> AggregationParams:
    """compute.secagg parameters for a sum over `members` clients (threshold: two thirds, or all)."""
    threshold = members if all_needed else max(2, -(-2 * members // 3))
    return AggregationParams(threshold, size, FRACTION_BITS, params.stage_timeout)


def coalition_rounds(clients: list[Address], params: FedAvgParams) -> list[tuple[tuple[int, ...], int, list[Address]]]:
    """Every (coalition, round, members who took part) the contribution phase sums, in one agreed order."""
    out = []
    for coalition in coalitions(len(clients)):
        for t in range(params.rounds):
            members = [a for a in params.sampled(t, clients) if clients.index(a) in coalition]
            if members:
                out.append((coalition, t, members))
    return out


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
        rng = np.random.default_rng()  # DP noise: fresh OS entropy, never the shared seed
        recorded: dict[int, np.ndarray] = {}
        for t in range(params.rounds):
            sampled = params.sampled(t, clients)
            if ch.address not in sampled:
                continue
            current = parse_model(ch.recv(server, GLOBAL_MODEL), server, GLOBAL_MODEL, size, t)["model"]
            update = (
                sgd(
                    model,
                    current,
                    X,
                    y,
                    epochs=params.local_epochs,
                    lr=params.learning_rate,
                    batch_size=params.batch_size,
                    seed=params.seed * 1_000_003 + t,
                )
                - current
            )
            if params.dp is not None:
                update = clip(update, params.dp.clip_norm) + noise_share(size, params.dp, len(sampled), rng)
            recorded[t] = update
            secagg_client(sampled.index(ch.address), update, aggregation(len(sampled), size, params), sampled, server)(
                ch
            )
        if params.contribution:
            for _, t, members in coalition_rounds(clients, params):
                if ch.address not in members:
                    continue
                if len(members) == 1:
                    ch.send(server, SINGLE_UPDATE, np.asarray(recorded[t], dtype="<f8").tobytes())
                else:
                    secagg_client(
                        members.index(ch.address),
                        recorded[t],
                        aggregation(len(members), size, params, all_needed=True),
                        members,
                        server,
                    )(ch)
        final = parse_model(ch.recv(server, FINAL_MODEL), server, FINAL_MODEL, size)
        return RoleOutput(
            {"model": final["model"], "rounds_taken": sorted(recorded), "contribution": final.get("contribution")},
            bytes.fromhex(final["hash"]),
            metadata={"rows": len(y)},
        )

    return role


def encode_model(round_index: int | None, model: np.ndarray, **extra: object) -> bytes:
    """A model message."""
    return pack({"round": round_index, "model": model.tolist(), "hash": model_hash(model).hex(), **extra})
