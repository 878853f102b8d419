"""Running the command line as a subprocess while a sandbox serves in this process."""

from __future__ import annotations

import asyncio
import os
import sys

from indica_async.sandbox import Sandbox


def environment(sandbox: Sandbox) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INDICA_")}
    env["INDICA_API_KEY"] = sandbox.api_key
    env["INDICA_BASE_URL"] = sandbox.base_url
    return env


async def start(sandbox: Sandbox, *args: str) -> asyncio.subprocess.Process:
    # -W default: an unclosed session or any other warning shows up on stderr.
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-W",
        "default",
        "-m",
        "indica_async",
        *args,
        env=environment(sandbox),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def run(sandbox: Sandbox, *args: str) -> tuple[int, str, str]:
    """``indica-async ARGS`` against the sandbox: exit status, stdout, stderr."""
    process = await start(sandbox, *args)
    out, err = await asyncio.wait_for(process.communicate(), 90)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def assert_clean(stderr: str) -> None:
    for marker in ("Traceback", "Warning", "Unclosed", "Exception ignored"):
        assert marker not in stderr, stderr
