"""Stored event arguments: orjson's fast parse, with every integer past 64 bits read back exactly."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.index.stored_args import args_from_json, args_json


@pytest.mark.parametrize(
    "args",
    [
        {"amount": 773188704377408754817},
        {"amount": -(2**64)},
        {"weights": [1, 2**65]},
        {"table": [[1], [2, [3 * 2**70]]]},
        {"jobId": 7, "owner": "0x" + "ab" * 20, "automatic": True, "ids": [1, 2]},
    ],
    ids=["past-64-bits", "negative-past-64-bits", "in-a-list", "nested-lists", "no-big-integer"],
)
def test_arguments_round_trip_exactly(args: dict[str, Any]) -> None:
    back = args_from_json(args_json(args))
    assert back == args and repr(back) == repr(args)  # repr: no integer came back as a float
