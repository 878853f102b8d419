"""Where the SDK's time goes on the end-to-end path: ``iterate`` over the sandbox.

``python -m benchmarks.run --only profile`` runs the iterate path under cProfile and
prints the top functions by own time (cProfile inflates the cost of small calls, so read
it for shape, not for absolute numbers). With ``--profiler none`` the same loop runs
unprofiled, for a sampling profiler outside the process::

    py-spy record -f raw -r 200 -o iterate.txt -- \\
        python -m benchmarks.run --only profile --profiler none
    python -m benchmarks._profile iterate.txt

The second command folds py-spy's raw output into own and inclusive shares per function.
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import pstats
import re
import sys
from collections import Counter
from collections.abc import Sequence

from . import _peers
from ._e2e import CONCURRENCY, LIMIT, e2e_spec
from ._harness import progress
from ._sandbox import sandbox_process

__all__ = ["fold_py_spy", "run_profile"]


def run_profile(customers: int, *, profiler: str = "cprofile", runs: int = 3, top: int = 20) -> str:
    """Run ``iterate`` ``runs`` times (the first unprofiled, to warm up); report."""
    spec = e2e_spec(customers)
    progress(f"profile: {spec.describe()}, {runs} runs, profiler {profiler}")
    profile = cProfile.Profile()
    with sandbox_process(spec) as target:
        for index in range(runs):
            run = _peers.sdk_iterate(
                target, spec.start, spec.end, limit=LIMIT, concurrency=CONCURRENCY
            )
            if profiler == "cprofile" and index > 0:
                profile.enable()
                asyncio.run(run)
                profile.disable()
            else:
                asyncio.run(run)
    if profiler != "cprofile":
        return "Profiler: none (run under an external sampling profiler)."
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    text = out.getvalue()
    # Keep the table; drop the machine's paths, which mean nothing elsewhere.
    text = re.sub(r"\S*/site-packages/", "", text)
    text = re.sub(r"\S*/(indica_async|benchmarks)/", r"\1/", text)
    text = re.sub(r"\S*/lib/python3\.\d+/", "", text)
    lines = [line for line in text.splitlines() if line.strip()]
    start = next(i for i, line in enumerate(lines) if "ncalls" in line)
    return "\n".join(
        [
            f"cProfile of {runs - 1} runs of iterate over {spec.describe()} "
            f"(limit {LIMIT}, concurrency {CONCURRENCY}); top {top} by own time:",
            "",
            *("    " + line for line in lines[start:]),
        ]
    )


def fold_py_spy(path: str, top: int = 20) -> str:
    """Own and inclusive shares per function from ``py-spy record -f raw`` output."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    with open(path) as lines:
        for line in lines:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not stack:
                continue
            samples = int(count)
            total += samples
            frames = [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")]
            own[frames[-1]] += samples
            for frame in set(frames):
                inclusive[frame] += samples
    rows = [f"{total} samples", "", "own %  function"]
    rows += [f"{n / total * 100:5.1f}  {f}" for f, n in own.most_common(top)]
    rows += ["", "incl % function"]
    rows += [f"{n / total * 100:5.1f}  {f}" for f, n in inclusive.most_common(top + 12)]
    return "\n".join(rows)


def main(argv: Sequence[str]) -> int:
    """``python -m benchmarks._profile RAW_FILE``: fold a py-spy raw profile."""
    if len(argv) != 1:
        print("usage: python -m benchmarks._profile PY_SPY_RAW_FILE", file=sys.stderr)
        return 2
    print(fold_py_spy(argv[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
