"""A FedAvg client: trains locally from the round's global model and sends its update masked.

Each round's update leaves the client only as its input to `compute.secagg` (Bonawitz secure
aggregation, run on the job's channel, one instance per round). With DP on (required for
contribution scores) the update is clipped, encoded in fixed point, and carries a fresh
discrete Gaussian noise share (compute/fl/dp.py). A client the aggregation drops (a
straggler) is told so and goes on to the next round. For contribution scores the client then
joins one noisy sum per (coalition, round) it took part in, the grand coalition excepted (its
sums are the training rounds'): a singleton's "sum" is the client's update plus the full
noise, so every coalition model the aggregator rebuilds, and every difference of two of
them, is a DP release counted in the reported ε.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from compute.channel import Channel
from compute.errors import MalformedMessage, ProtocolViolation
from compute.fl.dp import clip, noise_share
from compute.fl.fedavg.params import FedAvgParams, coalitions, model_hash
from compute.fl.hetero_lr.wire import pack, unpack
from compute.fl.models import sgd
from compute.party import Address
from compute.secagg import AggregationParams
from compute.secagg.masking import encode_vector
from compute.secagg.protocol import client_role as secagg_client
from compute.session import Role, RoleOutput

GLOBAL_MODEL = "global-model"
SINGLE_UPDATE = "single-update"
FINAL_MODEL = "final-model"
FRACTION_BITS = 32


def aggregation(
    members: int, size: int, params: FedAvgParams, instance: str, *, all_needed: bool = False
) -> AggregationParams:
    """compute.secagg parameters for a sum over `members` clients (threshold: two thirds, or all).

    With DP the inputs are already fixed-point integers (fraction bits 0 here, FRACTION_BITS in the values).
    """
    threshold = members if all_needed else max(2, -(-2 * members // 3))
    bits = 0 if params.dp is not None else FRACTION_BITS
    return AggregationParams(threshold, size, bits, params.stage_timeout, instance=instance)


def decode_sum(total: np.ndarray, params: FedAvgParams) -> np.ndarray:
    """A secure sum as floats (DP sums arrive as fixed-point integers)."""
    return total / float(1 << FRACTION_BITS) if params.dp is not None else np.asarray(total, dtype=np.float64)


def coalition_rounds(
    clients: list[Address], accepted: Mapping[int, list[Address]]
) -> list[tuple[tuple[int, ...], int, list[Address]]]:
    """Every (coalition, round, members whose update the round's sum accepted) the contribution phase sums,
    in one agreed order; the grand coalition is left out (its sums are the training rounds')."""
    everyone = tuple(range(len(clients)))
    out = []
    for coalition in coalitions(len(clients)):
        if coalition == everyone:
            continue
        for t in sorted(accepted):
            members = [a for a in accepted[t] if clients.index(a) in coalition]
            if members:
                out.append((coalition, t, members))
    return out


def instance_of(coalition: tuple[int, ...], round_index: int) -> str:
    """The secagg instance (step prefix) of one coalition sum."""
    return "c" + "-".join(map(str, coalition)) + f"/r{round_index}"


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
    model = params.build_model(X.shape[1])
    size = model.size

    def noised(x: np.ndarray, threshold: int) -> np.ndarray:
        assert params.dp is not None
        return x + noise_share(size, params.dp, threshold, FRACTION_BITS)

    def role(ch: Channel) -> RoleOutput:
        recorded: dict[int, np.ndarray] = {}  # round → what we put in its sum (before noise)
        accepted: dict[int, list[Address]] = {}  # round → whose updates its sum holds (rounds we are in)
        for t in range(params.rounds):
            sampled = params.sampled(t, clients)
            if ch.address not in sampled:
                continue
            current = parse_model(ch.recv(server, GLOBAL_MODEL), server, GLOBAL_MODEL, size, t)["model"]
            seed = params.seed * 1_000_003 + t
            trained = sgd(
                model,
                current,
                X,
                y,
                epochs=params.local_epochs,
                lr=params.learning_rate,
                batch_size=params.batch_size,
                seed=seed,
            )
            update = trained - current
            agg = aggregation(len(sampled), size, params, f"round-{t}")
            if params.dp is not None:
                x = encode_vector(clip(update, params.dp.clip_norm), FRACTION_BITS, len(clients)).view(np.int64)
                sent = noised(x, agg.threshold)
            else:
                x = sent = update
            out = secagg_client(sampled.index(ch.address), sent, agg, sampled, server)(ch).value
            if out["accepted"] is not None:  # else the round went on without us (we were too slow)
                recorded[t] = x
                accepted[t] = [sampled[i] for i in out["accepted"]]
        if params.contribution:
            for coalition, t, members in coalition_rounds(clients, accepted):
                if ch.address not in members:
                    continue
                instance = instance_of(coalition, t)
                if len(members) == 1:
                    ch.send(server, f"{instance}/{SINGLE_UPDATE}", noised(recorded[t], 1).astype("<i8").tobytes())
                    continue
                agg = aggregation(len(members), size, params, instance, all_needed=True)
                secagg_client(members.index(ch.address), noised(recorded[t], agg.threshold), agg, members, server)(ch)
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
