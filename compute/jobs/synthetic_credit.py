"""A seeded synthetic small-business credit set, split the way the flagship case splits it.

Generating model (documented so that anyone can check what the demo's numbers mean):
every business `i` has a latent financial health `h_i ~ N(0, 1)` and a sector shock
`s_i ~ N(0, 1)`. Each party sees noisy views of them:

- bank (labels + credit features): `years_in_business`, `credit_utilisation`,
  `past_delinquencies`, `loan_to_income`;
- invoice-data firm: `invoice_volume`, `invoice_growth`, `late_payment_ratio`,
  `customer_concentration`;
- card network: `card_revenue`, `revenue_volatility`, `chargeback_rate`.

Each feature is `a·h + b·s + noise` with its own loadings; the bank's features load only
weakly on `h` (the bank alone sees little), while invoice and card features carry most of
the signal. The default label is Bernoulli(σ(−1.2 − 1.6·h + 0.8·s)). Each party holds a
random subset of the taxpayer ids (so PSI has real work to do), and ids are strings of
the form `TAX-000123`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BANK_FEATURES = ("years_in_business", "credit_utilisation", "past_delinquencies", "loan_to_income")
INVOICE_FEATURES = ("invoice_volume", "invoice_growth", "late_payment_ratio", "customer_concentration")
CARD_FEATURES = ("card_revenue", "revenue_volatility", "chargeback_rate")

# (loading on health h, loading on sector shock s, noise sd) per feature.
_LOADINGS = {
    "years_in_business": (0.25, 0.0, 1.0),
    "credit_utilisation": (-0.30, 0.2, 1.0),
    "past_delinquencies": (-0.35, 0.1, 1.0),
    "loan_to_income": (-0.20, 0.3, 1.0),
    "invoice_volume": (0.90, 0.1, 0.6),
    "invoice_growth": (0.70, -0.3, 0.7),
    "late_payment_ratio": (-0.85, 0.2, 0.6),
    "customer_concentration": (-0.40, 0.5, 0.8),
    "card_revenue": (0.80, 0.0, 0.7),
    "revenue_volatility": (-0.60, 0.6, 0.7),
    "chargeback_rate": (-0.50, 0.1, 0.8),
}


@dataclass(frozen=True)
class PartyTable:
    """One party's private table: ids, feature names, feature matrix, and labels (bank only)."""

    ids: tuple[str, ...]
    features: tuple[str, ...]
    x: np.ndarray
    y: np.ndarray | None = None

    def to_csv(self) -> str:
        """The table as CSV text (id first, then y if present, then features)."""
        header = ["id"] + (["y"] if self.y is not None else []) + list(self.features)
        lines = [",".join(header)]
        for row, taxpayer in enumerate(self.ids):
            cells = [taxpayer]
            if self.y is not None:
                cells.append(str(int(self.y[row])))
            cells.extend(f"{v:.6f}" for v in self.x[row])
            lines.append(",".join(cells))
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class CreditSplit:
    """The three parties' tables over overlapping id sets."""

    bank: PartyTable
    invoice: PartyTable
    card: PartyTable


def generate(
    businesses: int = 4000, seed: int = 7, coverage: tuple[float, float, float] = (0.85, 0.8, 0.8)
) -> CreditSplit:
    """Generate the split: `businesses` in the universe, each party covering a random share of them."""
    if businesses < 10:
        raise ValueError("need at least 10 businesses")
    rng = np.random.default_rng(seed)
    health = rng.standard_normal(businesses)
    shock = rng.standard_normal(businesses)
    ids = np.array([f"TAX-{i:06d}" for i in rng.permutation(10 * businesses)[:businesses]])
    labels = rng.random(businesses) < 1.0 / (1.0 + np.exp(1.2 + 1.6 * health - 0.8 * shock))

    def feature(name: str) -> np.ndarray:
        a, b, sd = _LOADINGS[name]
        return a * health + b * shock + sd * rng.standard_normal(businesses)

    def table(names: tuple[str, ...], share: float, with_labels: bool) -> PartyTable:
        rows = np.sort(rng.choice(businesses, size=int(share * businesses), replace=False))
        x = np.column_stack([feature(n) for n in names])[rows]
        return PartyTable(
            ids=tuple(ids[rows]), features=names, x=x, y=labels[rows].astype(np.int8) if with_labels else None
        )

    return CreditSplit(
        bank=table(BANK_FEATURES, coverage[0], True),
        invoice=table(INVOICE_FEATURES, coverage[1], False),
        card=table(CARD_FEATURES, coverage[2], False),
    )
