"""The demo's synthetic credit split: seeded, overlapping, and carrying signal where documented."""

from __future__ import annotations

import numpy as np

from compute.jobs.synthetic_credit import generate


def test_same_seed_same_data_other_seed_other_data() -> None:
    a, b, c = generate(500, seed=1), generate(500, seed=1), generate(500, seed=2)
    assert a.bank.ids == b.bank.ids and np.array_equal(a.invoice.x, b.invoice.x)
    assert a.bank.ids != c.bank.ids


def test_parties_overlap_partially_and_only_the_bank_has_labels() -> None:
    split = generate(1000)
    common = set(split.bank.ids) & set(split.invoice.ids) & set(split.card.ids)
    assert 0 < len(common) < min(len(split.bank.ids), len(split.invoice.ids))
    assert split.bank.y is not None and split.invoice.y is None and split.card.y is None
    assert set(np.unique(split.bank.y)) == {0, 1}


def test_invoice_features_carry_more_signal_than_bank_features() -> None:
    split = generate(4000)
    y = split.bank.y.astype(float)
    bank_corr = max(abs(np.corrcoef(split.bank.x[:, j], y)[0, 1]) for j in range(split.bank.x.shape[1]))
    index = {k: i for i, k in enumerate(split.invoice.ids)}
    rows = [(i, index[k]) for i, k in enumerate(split.bank.ids) if k in index]
    yi = y[[r[0] for r in rows]]
    xi = split.invoice.x[[r[1] for r in rows]]
    invoice_corr = max(abs(np.corrcoef(xi[:, j], yi)[0, 1]) for j in range(xi.shape[1]))
    assert invoice_corr > 1.5 * bank_corr


def test_csv_round_trips_the_header() -> None:
    text = generate(50).bank.to_csv()
    assert text.splitlines()[0].startswith("id,y,years_in_business")
    assert len(text.splitlines()) == 1 + len(generate(50).bank.ids)
