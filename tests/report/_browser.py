"""A page opened in a real headless Chromium, read over the DevTools protocol.

Only aiohttp (already a dependency) speaks to the browser: its websocket client sends
the protocol's JSON commands. The browser listens on 127.0.0.1 on a port it picks and
writes into its profile directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import aiohttp
import attrs

#: The flags this needs anywhere (containers as root, no GPU, no network chatter).
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--remote-debugging-port=0",
    "--window-size=1280,2000",
)


def chromium() -> str | None:
    """The Chromium binary on PATH, if any."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@attrs.define
class PageLoad:
    """What a page did while it loaded, and what it evaluated to afterwards."""

    errors: list[str] = attrs.Factory(list)
    requests: list[str] = attrs.Factory(list)
    value: Any = None


def _active_port(profile: str) -> list[str]:
    """The port and path Chromium wrote once listening (nothing before)."""
    try:
        return Path(profile, "DevToolsActivePort").read_text().split()
    except FileNotFoundError:
        return []


async def _devtools_url(profile: str, process: asyncio.subprocess.Process) -> str:
    for _ in range(3000):
        lines = _active_port(profile)
        if len(lines) >= 2:
            return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        if process.returncode is not None:
            raise RuntimeError(f"chromium exited with {process.returncode}")
        await asyncio.sleep(0.01)
    raise TimeoutError("chromium did not open its DevTools port within 30 s")


async def open_page(binary: str, url: str, expression: str) -> PageLoad:
    """Load ``url``; collect console errors, exceptions and network requests until the
    load event; then evaluate ``expression`` (JSON-returning JavaScript)."""
    profile = tempfile.mkdtemp(prefix="indica-report-chromium-")
    process = await asyncio.create_subprocess_exec(
        binary,
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        "about:blank",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        endpoint = await _devtools_url(profile, process)
        async with aiohttp.ClientSession() as http, http.ws_connect(endpoint) as ws:
            return await _load(ws, url, expression)
    finally:
        if process.returncode is None:
            process.terminate()
        with contextlib.suppress(ProcessLookupError):
            await asyncio.wait_for(process.wait(), 30)
        await _remove(profile)


async def _remove(profile: str) -> None:
    """Delete the profile; Chromium's helper processes may still be writing to it for a
    moment after the browser has exited, so try again until it is gone."""
    for _ in range(100):
        shutil.rmtree(profile, ignore_errors=True)
        if not _exists(profile):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"chromium's profile {profile} could not be removed")


def _exists(path: str) -> bool:
    return Path(path).exists()


async def _load(ws: aiohttp.ClientWebSocketResponse, url: str, expression: str) -> PageLoad:
    ids = itertools.count(1)
    page = PageLoad()
    loaded = asyncio.Event()
    waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}

    def on_event(message: dict[str, Any]) -> None:
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            page.errors.append(json.dumps(params.get("args")))
        elif method == "Runtime.exceptionThrown":
            page.errors.append(json.dumps(params.get("exceptionDetails")))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            page.errors.append(params["entry"].get("text", ""))
        elif method == "Network.requestWillBeSent":
            page.requests.append(params["request"]["url"])
        elif method == "Page.loadEventFired":
            loaded.set()

    async def reader() -> None:
        async for frame in ws:
            message = json.loads(frame.data)
            if "id" in message and message["id"] in waiting:
                waiting.pop(message["id"]).set_result(message)
            else:
                on_event(message)

    async def send(method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        number = next(ids)
        waiting[number] = asyncio.get_running_loop().create_future()
        command: dict[str, Any] = {"id": number, "method": method, "params": params}
        if session is not None:
            command["sessionId"] = session
        await ws.send_str(json.dumps(command))
        answer = await asyncio.wait_for(waiting[number], 30)
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        result: dict[str, Any] = answer["result"]
        return result

    listening = asyncio.ensure_future(reader())
    try:
        target = (await send("Target.createTarget", url="about:blank"))["targetId"]
        session = (await send("Target.attachToTarget", targetId=target, flatten=True))["sessionId"]
        for domain in ("Runtime", "Log", "Network", "Page"):
            await send(f"{domain}.enable", session)
        await send("Page.navigate", session, url=url)
        await asyncio.wait_for(loaded.wait(), 30)
        evaluated = await send(
            "Runtime.evaluate", session, expression=expression, returnByValue=True
        )
        page.value = json.loads(evaluated["result"]["value"])
        with contextlib.suppress(Exception):
            await send("Browser.close")
    finally:
        listening.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listening
    return page
