"""Decode alone: one page of 500 customers, no network.

The goal compares structuring only (parsed dicts to models, parsing excluded): the SDK's
generated hooks against stock cattrs on the same classes (``make_converter(fast=False)``,
the reference the fast path is tested against). For context, the whole decode from the
bytes of a response is also timed for the SDK, pydantic v2 and msgspec.

Two pages: the sandbox's first 500 customers of the end-to-end data set, and the page of
``benchmarks/test_decode_bench.py`` (pytest-benchmark's view of the same comparison).
The garbage collector stays on, as in real use.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import orjson

from indica_async._converters import decode_customers, make_converter
from indica_async.models import Customer
from indica_async.sandbox import SandboxConfig, generate_customers

from . import _peers
from ._harness import Outcome, Sample, fmt_ratio, interleave, median, progress, render_table

__all__ = ["DecodeResult", "run_decode"]

PAGE_SIZE = 500
GOAL = 2.0

SDK = "sdk decode_customers (dicts -> models)"
STOCK = "stock cattrs (dicts -> models)"
STOCK_DETAILED = "stock cattrs, detailed validation"
LOADS = "orjson.loads only (bytes -> dicts)"
SDK_BYTES = "sdk: orjson.loads + decode_customers"
PYDANTIC = "pydantic v2 validate_json (bytes -> models)"
MSGSPEC = "msgspec decode (bytes -> Structs)"


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


@dataclasses.dataclass
class DecodeResult:
    """Samples per page, per candidate."""

    number: int
    pages: dict[str, dict[str, list[Sample]]]

    def report(self) -> str:
        """Per page: ms per page and us per customer; the SDK's speed-up over stock."""
        parts = []
        for page, samples in self.pages.items():
            per_call = {
                name: median([s.wall for s in v]) / self.number for name, v in samples.items()
            }
            rows = [
                [
                    name,
                    f"{seconds * 1000:.2f}",
                    f"{seconds / PAGE_SIZE * 1e6:.2f}",
                    fmt_ratio(seconds / per_call[SDK]),
                ]
                for name, seconds in per_call.items()
            ]
            speedup = per_call[STOCK] / per_call[SDK]
            verdict = "met" if speedup >= GOAL else "MISSED"
            parts += [
                f"Page: {page}; {len(samples[SDK])} interleaved rounds of {self.number} calls.",
                "",
                render_table(["candidate", "ms / page", "us / customer", "t / t(SDK)"], rows),
                "",
                f"Goal: SDK structuring >= {GOAL}x stock cattrs: {fmt_ratio(speedup)}, {verdict}.",
                "",
            ]
        return "\n".join(parts).rstrip()


def _candidates(body: bytes) -> dict[str, Callable[[], Any]]:
    items = orjson.loads(body)
    stock = make_converter(fast=False)
    detailed = make_converter(fast=False, detailed_validation=True)
    candidates: dict[str, Callable[[], Any]] = {
        SDK: lambda: decode_customers(items),
        STOCK: lambda: stock.structure(items, list[Customer]),
        STOCK_DETAILED: lambda: detailed.structure(items, list[Customer]),
        LOADS: lambda: orjson.loads(body),
        SDK_BYTES: lambda: decode_customers(orjson.loads(body)),
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
