"""Decode alone: one page of 500 customers, from the bytes of a response, no network.

The goal: the SDK's decode (bytes to frozen attrs models, every field checked) at least
0.85x as fast as ``orjson.loads`` (bytes to dicts, nothing checked) on the same page,
i.e. t(orjson) / t(SDK) >= 0.85. For context: strict mode, the cattrs converter from
dicts, pydantic v2 and msgspec Structs; and the cost of the open enums, measured twice:
the SDK's models against attrs classes of the same shape whose enum fields are plain
``str`` (no enum at all), and a page whose enum values are all unknown.

Two pages: the sandbox's first 500 customers of the end-to-end data set, and the page of
``benchmarks/test_decode_bench.py``. The garbage collector stays on, as in real use.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable
from typing import Any

import attrs
import msgspec
import orjson

from indica_async import Customer, converter
from indica_async._converters import decode_list_body
from indica_async.sandbox import SandboxConfig, generate_customers

from . import _peers
from ._harness import Outcome, Sample, fmt_ratio, interleave, median, progress, render_table

__all__ = ["DecodeResult", "run_decode"]

PAGE_SIZE = 500
GOAL = 0.85

SDK = "sdk decode_list_body (bytes -> models)"
LOADS = "orjson.loads (bytes -> dicts, unchecked)"
STRICT = "sdk decode_list_body, strict=True"
UNKNOWN = "sdk, every enum value unknown"
PLAIN_STR = "msgspec -> same attrs shape, enums as plain str"
CATTRS = "orjson.loads + cattrs converter.structure"
PYDANTIC = "pydantic v2 validate_json (bytes -> models)"
MSGSPEC = "msgspec decode (bytes -> Structs)"

_ENUM_FIELDS = ("gender", "type", "ethnicity", "preferred_language")


def sandbox_page() -> bytes:
    """The sandbox's first 500 customers, as a list response's body."""
    records = generate_customers(SandboxConfig(customers=PAGE_SIZE))
    return records.json_array(0, PAGE_SIZE)


def bench_file_page() -> bytes | None:
    """The page of ``test_decode_bench.py`` (None if pytest, which it imports, is missing)."""
    try:
        from .test_decode_bench import make_page
    except ImportError:
        return None
    return make_page()


def _unknown_enums(body: bytes) -> bytes:
    items = orjson.loads(body)
    for item in items:
        for name in _ENUM_FIELDS:
            if item.get(name) is not None:
                item[name] = f"new_{item[name]}"
    return orjson.dumps(items)


def _plain_str_decoder() -> msgspec.json.Decoder[Any]:
    """The models' shape as attrs classes whose enum fields are ``str | None``."""

    def mirror(cl: type) -> type:
        these: dict[str, Any] = {}
        for a in attrs.fields(cl):
            tp: Any = a.type
            if a.name in _ENUM_FIELDS:
                tp = str | None
            elif a.name in ("address", "recommendation"):
                tp = mirror(typing.get_args(a.type)[0]) | None
            these[a.name] = attrs.field(type=tp, default=a.default)
        return attrs.make_class(f"Plain{cl.__name__}", these, frozen=True, slots=True)

    return msgspec.json.Decoder(list[mirror(Customer)])  # type: ignore[misc]


@dataclasses.dataclass
class DecodeResult:
    """Samples per page, per candidate."""

    number: int
    pages: dict[str, dict[str, list[Sample]]]

    def report(self) -> str:
        """Per page: ms per page, us per customer, and speed relative to orjson."""
        parts = []
        for page, samples in self.pages.items():
            per_call = {
                name: median([s.wall for s in v]) / self.number for name, v in samples.items()
            }
            paired = median(
                [a.wall / b.wall for a, b in zip(samples[LOADS], samples[SDK], strict=True)]
            )
            rows = [
                [
                    name,
                    f"{seconds * 1000:.2f}",
                    f"{seconds / PAGE_SIZE * 1e6:.2f}",
                    fmt_ratio(per_call[LOADS] / seconds),
                ]
                for name, seconds in per_call.items()
            ]
            speed = per_call[LOADS] / per_call[SDK]
            verdict = "met" if min(speed, paired) >= GOAL else "MISSED"
            parts += [
                f"Page: {page}; {len(samples[SDK])} interleaved rounds of {self.number} calls.",
                "",
                render_table(
                    ["candidate", "ms / page", "us / customer", "speed vs orjson.loads"], rows
                ),
                "",
                f"Goal: SDK decode >= {GOAL}x orjson.loads: {fmt_ratio(speed)} (ratio of "
                f"medians), {fmt_ratio(paired)} (median of per-round ratios), {verdict}.",
                "",
            ]
        return "\n".join(parts).rstrip()


def _candidates(body: bytes) -> dict[str, Callable[[], Any]]:
    unknown = _unknown_enums(body)
    plain = _plain_str_decoder()
    assert len(decode_list_body(body)) == len(plain.decode(body)) == PAGE_SIZE
    candidates: dict[str, Callable[[], Any]] = {
        SDK: lambda: decode_list_body(body),
        LOADS: lambda: orjson.loads(body),
        STRICT: lambda: decode_list_body(body, strict=True),
        UNKNOWN: lambda: decode_list_body(unknown),
        PLAIN_STR: lambda: plain.decode(body),
        CATTRS: lambda: converter.structure(orjson.loads(body), list[Customer]),
    }
    if _peers.peer_available("pydantic"):
        adapter = _peers.pydantic_adapter()
        candidates[PYDANTIC] = lambda: adapter.validate_json(body)
    if _peers.peer_available("msgspec"):
        decoder = _peers.msgspec_decoder()
        candidates[MSGSPEC] = lambda: decoder.decode(body)
    return candidates


def run_decode(rounds: int, number: int = 5) -> DecodeResult:
    """Time every candidate on each page, interleaved."""
    pages = {"sandbox, 500 customers": sandbox_page()}
    extra = bench_file_page()
    if extra is not None:
        pages["test_decode_bench.py, 500 customers"] = extra
    results = {}
    for label, body in pages.items():
        size = len(body) / PAGE_SIZE
        progress(f"decode: {label} ({size:.0f} bytes per customer)")
        candidates = _candidates(body)

        def repeat(call: Callable[[], Any]) -> Callable[[], Outcome]:
            def run() -> Outcome:
                for _ in range(number):
                    call()
                return Outcome(PAGE_SIZE)

            return run

        samples = interleave(
            {name: repeat(call) for name, call in candidates.items()}, rounds=rounds
        )
        results[f"{label} ({size:.0f} bytes each)"] = samples
    return DecodeResult(number, results)
