"""devplane.fastjson: orjson's speed, never a different value from the stdlib's."""

from __future__ import annotations

import json
import math

import pytest

from devplane import fastjson


@pytest.mark.parametrize(
    "raw",
    [
        b'{"id": 123456789012345678901234567890}',  # orjson alone would make this a float
        b"[-9999999999999999999, 18446744073709551615, 1e400]",
        b'{"a": [1, 2.5, "x", null, true], "b": {"c": "\\u00e9\\ud83d\\ude00"}}',
        b'"\\ud800"',  # a lone surrogate: orjson refuses it
        '{"k": "é"}'.encode(),
    ],
)
def test_loads_matches_the_stdlib(raw: bytes) -> None:
    assert fastjson.loads(raw) == json.loads(raw)
    assert fastjson.loads(raw.decode()) == json.loads(raw)


def test_nan_is_accepted_as_the_stdlib_does_and_written_as_null() -> None:
    value = fastjson.loads(b"[NaN, Infinity]")
    assert math.isnan(value[0])
    assert value[1] == math.inf
    assert fastjson.dumps(value) == b"[null,null]"


def test_not_json_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="Expecting value"):
        fastjson.loads(b"<html>")


@pytest.mark.parametrize(
    "value",
    [
        {"id": 2**80, "n": -(2**70)},  # orjson refuses these
        {1: "int key"},
        {"s": "\ud800"},
        {"plain": [1, 2.5, "é", None, True]},
    ],
)
def test_dumps_writes_what_the_stdlib_reads_back(value: object) -> None:
    out = fastjson.dumps(value)
    assert isinstance(out, bytes)
    assert json.loads(out) == json.loads(json.dumps(value))
    assert b" " not in out.replace(b"int key", b"")  # compact


def test_dumps_default_for_unknown_types() -> None:
    class Thing:
        def __repr__(self) -> str:
            return "<thing>"

    assert fastjson.dumps({"t": Thing()}, default=repr) == b'{"t":"<thing>"}'
