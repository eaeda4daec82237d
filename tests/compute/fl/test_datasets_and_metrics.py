"""Data loading (FATE's splits, non-IID parts) and the numpy metrics."""

from __future__ import annotations

import numpy as np
import pytest

from compute.fl.datasets import DatasetMissing, load_vertical, non_iid_parts, split_hosts
from compute.fl.metrics import auc


def test_missing_data_directory_gives_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("CUSTOS_DATA_DIR", str(tmp_path))

    with pytest.raises(DatasetMissing, match="CUSTOS_DATA_DIR"):
        load_vertical("breast")


def test_breast_split_has_fates_shape_and_aligned_rows():
    data = load_vertical("breast")

    assert data.guest.shape == (569, 10) and data.hosts[0].shape == (569, 20) and data.y.shape == (569,)
    assert [h.shape[1] for h in split_hosts(data, 2).hosts] == [10, 10]


def test_non_iid_parts_cover_every_row_once_with_skewed_labels():
    X, y = np.arange(200.0).reshape(100, 2), np.array([0.0] * 50 + [1.0] * 50)

    parts = non_iid_parts(X, y, 4, alpha=0.3, seed=0)

    assert sum(len(p[1]) for p in parts) == 100 and all(len(p[1]) for p in parts)
    assert sorted(np.concatenate([p[0][:, 0] for p in parts]).tolist()) == X[:, 0].tolist()


def test_auc_counts_ties_as_half_and_matches_pairwise_definition():
    y = np.array([0, 1, 0, 1, 1, 0])
    scores = np.array([0.1, 0.4, 0.4, 0.8, 0.2, 0.05])
    pairs = [(p, n) for p in scores[y == 1] for n in scores[y == 0]]
    expected = np.mean([1.0 if p > n else 0.5 if p == n else 0.0 for p, n in pairs])

    assert auc(y, scores) == pytest.approx(expected)
    assert auc(y, -scores) == pytest.approx(1 - expected)


def test_shipped_copies_match_the_checksums_in_their_readme(monkeypatch):
    import hashlib
    import lzma
    import re

    from compute.fl.datasets import SHIPPED_DATA_DIR

    monkeypatch.delenv("CUSTOS_DATA_DIR", raising=False)
    readme = (SHIPPED_DATA_DIR / "README.md").read_text()
    listed = {name: digest for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+\.csv)$", readme, re.M)}

    assert sorted(listed) == sorted(p.name.removesuffix(".xz") for p in SHIPPED_DATA_DIR.glob("*.csv.xz"))
    for name, digest in listed.items():
        assert hashlib.sha256(lzma.decompress((SHIPPED_DATA_DIR / f"{name}.xz").read_bytes())).hexdigest() == digest


def test_a_plain_csv_in_the_override_folder_is_read(tmp_path, monkeypatch):
    (tmp_path / "breast_hetero_guest.csv").write_text("id,y,a\n1,1,0.5\n2,0,0.25\n")
    (tmp_path / "breast_hetero_host.csv").write_text("id,b\n2,3.0\n1,4.0\n")
    monkeypatch.setenv("CUSTOS_DATA_DIR", str(tmp_path))

    data = load_vertical("breast")

    assert data.ids == ("1", "2") and data.hosts[0][:, 0].tolist() == [4.0, 3.0]
