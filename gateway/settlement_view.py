"""A job's terms, settlement and contributions, derived from its events for the job page.

The breakdown follows `ledger.payout.split` (the one statement of the payout rule): the
expected credits come from it, and this module only lays out its intermediate values
(prices, fee, the weighted rest, dust) beside each credit the chain emitted, with whether
they match. The verifier's `payout` check stays the verdict; this is its explanation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from gateway.schemas.audit import Contribution, JobTerms, SettlementBreakdown, SettlementLine, SourceTerm
from ledger.index.store import IndexedEvent
from ledger.payout import BPS, PayoutRuleError, split
from ledger.protocol import kind_name

TermsAt = Callable[[int, IndexedEvent], tuple[str, int] | None]


def _first(events: Sequence[IndexedEvent], name: str) -> IndexedEvent | None:
    return next((e for e in events if e.event == name), None)


def job_terms(
    events: Sequence[IndexedEvent], terms_at: TermsAt, price_cap: Callable[[IndexedEvent], int | None]
) -> JobTerms | None:
    """What the job was opened with (JobOpened's terms, and the price cap of its openJob call from
    `price_cap`), and what it committed; None without a JobOpened."""
    opened = _first(events, "JobOpened")
    if opened is None:
        return None
    args = opened.args
    sources = []
    for source, version in zip(args["sourceIds"], args["versions"], strict=False):
        owner, price = terms_at(source, opened) or ("", 0)
        sources.append(SourceTerm(source_id=source, version=version, owner=owner, price_per_use=price))
    committed, finalized = _first(events, "ResultCommitted"), _first(events, "JobFinalized")
    disputed = next((e for e in events if e.event in ("JobDisputed", "JobEscalated")), None)
    c = committed.args if committed else {}
    return JobTerms(
        kind=kind_name(args["kind"]),
        params_hash=args["paramsHash"],
        inputs_hash=args["inputsHash"],
        budget=args["budget"],
        deadline=args["deadline"],
        fee_bps=args["feeBps"],
        challenge_window=args["challengeWindow"],
        attestation_window=args["attestationWindow"],
        resolution_window=args["resolutionWindow"],
        price_sum=sum(s.price_per_use for s in sources),
        max_total_price=price_cap(opened),
        sources=sources,
        compute_parties=list(args["computeParties"]),
        result_hash=c.get("resultHash"),
        transcript_root=c.get("transcriptRoot"),
        contribution_hash=c.get("contributionHash"),
        utility_table_hash=c.get("utilityTableHash"),
        committed_at=committed.block_time if committed else None,
        disputed_at=disputed.block_time if disputed else None,
        finalized_at=finalized.block_time if finalized else None,
    )


def share(part: int, whole: int) -> str:
    """`part / whole` as a percentage with two decimals, exact (e.g. '75.00 %')."""
    if whole == 0:
        return "0.00 %"
    return f"{(Decimal(part) * 100 / Decimal(whole)).quantize(Decimal('0.01'))} %"


def contributions(events: Sequence[IndexedEvent], terms: JobTerms | None) -> list[Contribution]:
    """Each source's committed weight and its share of the weighted pool."""
    committed = _first(events, "ResultCommitted")
    if committed is None or terms is None:
        return []
    weights = list(committed.args["weights"])
    total = sum(weights)
    return [
        Contribution(source_id=s.source_id, owner=s.owner, weight=w, share=share(w, total))
        for s, w in zip(terms.sources, weights, strict=False)
    ]


def _formula(reason: str, price: int, rest: int, weight: int, weight_sum: int, fee: int, m: int, dust: int) -> str:
    if reason.startswith("source"):
        return f"price {price} + rest {rest} × weight {weight} / Σweights {weight_sum}"
    if reason.startswith("compute party #0"):
        return f"fee {fee} / {m} compute parties + dust {dust}"
    return f"fee {fee} / {m} compute parties"


def settlement(events: Sequence[IndexedEvent], terms: JobTerms | None) -> SettlementBreakdown | None:
    """The escrow's split laid out step by step, each credit against the rule; None before a release."""
    released, committed = _first(events, "EscrowReleased"), _first(events, "ResultCommitted")
    if released is None or committed is None or terms is None:
        return None
    finalized = _first(events, "JobFinalized")
    escrow = finalized.args["escrow"] if finalized else released.args["amount"]
    prices = [s.price_per_use for s in terms.sources]
    weights = list(committed.args["weights"])
    parties, fee_bps = terms.compute_parties, released.args["feeBps"]
    try:
        expected = split(escrow, [s.owner.lower() for s in terms.sources], prices, weights, parties, fee_bps)
    except PayoutRuleError:
        expected = []
    price_sum, weight_sum = sum(prices), sum(weights)
    pool = max(escrow - price_sum, 0)
    fee = pool * fee_bps // BPS
    rest = pool - fee
    m = max(len(parties), 1)
    shares = [p + rest * w // weight_sum for p, w in zip(prices, weights, strict=False)] if weight_sum else []
    dust = escrow - sum(shares) - (fee // m) * m if shares else 0
    credited = [e for e in events if e.event == "PaymentCredited"]
    lines = []
    for i, credit in enumerate(expected):
        got = credited[i] if i < len(credited) else None
        index = int(credit.reason.split("#")[1].split()[0])
        price, weight = (prices[index], weights[index]) if credit.reason.startswith("source") else (0, 0)
        amount = got.args["amount"] if got else None
        same = got is not None and got.args["payee"].lower() == credit.payee.lower() and amount == credit.amount
        lines.append(
            SettlementLine(
                payee=got.args["payee"] if got else credit.payee,
                reason=credit.reason,
                formula=_formula(credit.reason, price, rest, weight, weight_sum, fee, m, dust),
                expected=credit.amount,
                credited=amount,
                matches=same,
            )
        )
    return SettlementBreakdown(
        escrow=escrow,
        price_sum=price_sum,
        pool=pool,
        fee_bps=fee_bps,
        fee=fee,
        rest=rest,
        weight_sum=weight_sum,
        dust=dust,
        lines=lines,
        matches=bool(lines) and all(line.matches for line in lines) and len(credited) == len(expected),
    )
