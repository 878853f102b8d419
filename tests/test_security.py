"""The API key and customers' personal data stay where they belong.

- The key appears in no log record (every logger at DEBUG, aiohttp's included), no
  exception's text, ``repr``, arguments or traceback, and no ``repr`` of the client,
  through a complete export with every kind of fault and through failing calls against
  a server that echoes the key back in its error bodies.
- A redirect is never followed, so the key is never resent to another origin.
- Plain ``http://`` to anything but loopback is refused at construction, before any
  connection; ambiguous URLs (where another parser could see another host) too.
- TLS verification is on, with no switch to turn it off: a self-signed HTTPS server on
  loopback is refused with `APIConnectionError` and never sees a request.
- Customers' field values (emails, phones, names, state IDs) never reach a log record,
  and a state ID looked up is not written into the logs or the exception; a
  `DecodeError` names the field and the expected type, never the value.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib.util
import inspect
import re
import shutil
import ssl
import subprocess
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import attrs
import orjson
import pytest
from aiohttp import web
from conftest import LogCapture

import indica_async
from indica_async import (
    APIConnectionError,
    APIError,
    APIStatusError,
    AsyncIndicaClient,
    AuthenticationError,
    ConfigurationError,
    DecodeError,
    IndicaError,
    NotFoundError,
    RetryPolicy,
    ServerError,
)
from indica_async.sandbox import FAULT_KINDS, FaultConfig, Sandbox, SandboxConfig

KEY = "sk-indica-live-9f2c7e1a5b3d4f60aa71"
FAST = RetryPolicy(
    initial_backoff=0.002, max_backoff=0.01, max_retry_after=0.01, max_retries=10, max_retry_time=30
)
FAULTS = FaultConfig(rate=0.3, kinds=FAULT_KINDS, retry_after=0.005, spike=0.01, seed=77)
PACKAGE = Path(indica_async.__file__).parent


def everything_about(error: BaseException) -> str:
    """All an exception could show: str, repr, args, attributes and the full traceback."""
    return "\n".join(
        [
            str(error),
            repr(error),
            repr(error.args),
            repr(vars(error)),
            "".join(traceback.format_exception(type(error), error, error.__traceback__)),
        ]
    )


async def collect_error(call: Awaitable[object]) -> IndicaError:
    with pytest.raises(IndicaError) as info:
        await call
    return info.value


# --- a tiny server that echoes the request's headers into its error bodies ---------------


@pytest.fixture
async def echo_server() -> AsyncIterator[str]:
    async def echo(request: web.Request) -> web.Response:
        status = int(request.query.get("status", request.match_info.get("status", "500")))
        headers = {str(name): value for name, value in request.headers.items()}
        body = orjson.dumps({"error": "echo", "you_sent": headers, "key": headers.get("X-Api-Key")})
        extra = {"Retry-After": "0"} if status == 429 else {}
        return web.Response(status=status, body=body, content_type="text/plain", headers=extra)

    app = web.Application()
    app.router.add_get("/v/customers/{status}", echo)
    app.router.add_get("/v/customers/state-id/{state_id}", echo)
    app.router.add_get("/v/customers", echo)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/v"
    finally:
        await runner.cleanup()


# --- the API key ---------------------------------------------------------------------------


async def test_the_key_is_never_logged_raised_or_shown(
    all_logs: LogCapture, echo_server: str
) -> None:
    errors: list[IndicaError] = []
    config = SandboxConfig(customers=2000, faults=FAULTS, api_key=KEY, seed=77)
    async with Sandbox(config) as sandbox:
        async with AsyncIndicaClient(KEY, base_url=sandbox.base_url, retry=FAST) as client:
            ids = [
                c.id
                async for c in client.customers.iterate(
                    start_date="2024-01-01", end_date="2024-12-31", limit=50
                )
            ]
            assert ids == list(sandbox.records.ids)
            shown = [repr(client), str(client), repr(client.stats), repr(client.retry)]
        assert client.stats.retries > 0
        # A wrong key (this one must not show either), and a sandbox that always fails.
        wrong = KEY[::-1]
        async with AsyncIndicaClient(wrong, base_url=sandbox.base_url, retry=FAST) as client:
            errors.append(await collect_error(client.customers.get(10_001)))
            assert isinstance(errors[-1], AuthenticationError)
            shown.append(repr(client))

    # A server that puts the key into every error body it sends.
    async with AsyncIndicaClient(
        KEY, base_url=echo_server, retry=attrs.evolve(FAST, max_retries=1)
    ) as client:
        for status in (400, 401, 403, 404, 422, 429, 500, 503, 418):
            errors.append(await collect_error(client.customers.get(status)))
        errors.append(await collect_error(client.customers.get_by_state_id("S1?status=500")))
        errors.append(
            await collect_error(
                client.customers.list(start_date="2024-01-01", end_date="2024-01-02")
            )
        )
        shown.append(repr(client))
    # Nobody listening: a connection error.
    async with AsyncIndicaClient(
        KEY, base_url="http://127.0.0.1:9/v", retry=attrs.evolve(FAST, max_retries=1)
    ) as client:
        errors.append(await collect_error(client.customers.get(1)))

    assert len(errors) == 13
    assert sum(isinstance(e, APIStatusError) for e in errors) == 12
    for error in errors:
        assert KEY not in everything_about(error), repr(error)
        assert wrong not in everything_about(error), repr(error)
    for text in shown:
        assert KEY not in text and wrong not in text

    # The capture worked: the SDK's retries were logged, and aiohttp's loggers are on.
    assert any(r.name == "indica_async" for r in all_logs.records)
    assert all_logs.find(KEY) == []
    assert all_logs.find(wrong) == []


async def test_a_redirect_is_not_followed_and_the_key_stays_home() -> None:
    seen_elsewhere: list[dict[str, str]] = []

    async def elsewhere(request: web.Request) -> web.Response:
        seen_elsewhere.append(dict(request.headers))
        return web.json_response({"id": 1})

    other = web.Application()
    other.router.add_get("/{tail:.*}", elsewhere)
    other_runner = web.AppRunner(other, access_log=None)
    await other_runner.setup()
    await web.TCPSite(other_runner, "127.0.0.1", 0).start()
    other_url = f"http://127.0.0.1:{other_runner.addresses[0][1]}/steal"

    async def api(request: web.Request) -> web.Response:
        status = int(request.query.get("status", "302"))
        return web.Response(status=status, headers={"Location": other_url})

    home = web.Application()
    home.router.add_get("/{tail:.*}", api)
    home_runner = web.AppRunner(home, access_log=None)
    await home_runner.setup()
    await web.TCPSite(home_runner, "127.0.0.1", 0).start()
    home_url = f"http://127.0.0.1:{home_runner.addresses[0][1]}/v"
    try:
        async with AsyncIndicaClient(KEY, base_url=home_url, retry=FAST) as client:
            for call in (
                client.customers.get(1),
                client.customers.get_by_state_id("A1"),
                client.customers.list(start_date="2024-01-01", end_date="2024-01-31"),
            ):
                error = await collect_error(call)
                assert isinstance(error, APIStatusError) and error.status == 302
    finally:
        await home_runner.cleanup()
        await other_runner.cleanup()
    assert seen_elsewhere == []


# --- clear text and TLS -----------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://api.indicaonline.com/open_api/v2.3",
        "HTTP://API.INDICAONLINE.COM/open_api/v2.3",
        "http://10.0.0.5:8080/open_api/v2.3",
        "http://[2001:db8::1]/open_api/v2.3",
        "http://localhost.evil.example/open_api/v2.3",
        "http://127.0.0.1.nip.io/open_api/v2.3",
        "http://127.0.0.1@evil.example/open_api/v2.3",
        "http://evil.example#@127.0.0.1/open_api/v2.3",
        # urllib sees 127.0.0.1 after the backslash; another parser sees evil.example.
        "http://evil.example\\@127.0.0.1/open_api/v2.3",
        "http://127.0.0.1:99999/open_api/v2.3",
        "ftp://127.0.0.1/open_api/v2.3",
        "//api.indicaonline.com/open_api/v2.3",
    ],
)
def test_clear_text_or_ambiguous_urls_are_refused_before_any_connection(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    connects: list[object] = []

    async def no_connection(*args: object, **kwargs: object) -> None:
        connects.append(args)
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr(asyncio.BaseEventLoop, "create_connection", no_connection)
    with pytest.raises(ConfigurationError):
        AsyncIndicaClient(KEY, base_url=url)
    monkeypatch.setenv("INDICA_BASE_URL", url)
    with pytest.raises(ConfigurationError) as info:
        AsyncIndicaClient(KEY)
    assert KEY not in everything_about(info.value)
    assert connects == []


def test_there_is_no_switch_to_turn_tls_verification_off() -> None:
    # No keyword of the client's constructor is about TLS or verification.
    params = set(inspect.signature(AsyncIndicaClient).parameters)
    assert not {p for p in params if re.search(r"ssl|tls|verif|insecure|cert", p, re.I)}
    # Nothing in the package turns verification off.
    disabling = re.compile(
        r"ssl\s*=\s*False|verify_ssl|verify\s*=\s*False|CERT_NONE|check_hostname\s*=\s*False"
        r"|_create_unverified_context|insecure\w*\s*[=:]"
    )
    offenders = [
        f"{path.relative_to(PACKAGE)}:{number}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if disabling.search(line)
    ]
    assert offenders == []


async def test_the_sdks_own_session_verifies_tls() -> None:
    async with AsyncIndicaClient(KEY) as client:
        session = client._open()
        connector = session.connector
        assert isinstance(connector, aiohttp.TCPConnector)
        assert connector._ssl is True  # aiohttp's default: verify against the system CAs
        assert not session.trust_env  # no proxy settings taken from the environment


def self_signed_certificate(directory: Path) -> tuple[Path, Path] | None:
    """A certificate and key for 127.0.0.1, self-signed; ``None`` if no tool can make one."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    if importlib.util.find_spec("cryptography") is not None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        private = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
        now = dt.datetime.now(dt.timezone.utc)
        import ipaddress

        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(private.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            )
            .sign(private, hashes.SHA256())
        )
        cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key.write_bytes(
            private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return cert, key
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return cert, key


async def test_a_self_signed_https_server_is_refused(tmp_path: Path) -> None:
    made = self_signed_certificate(tmp_path)
    if made is None:
        pytest.skip("neither the cryptography package nor the openssl command is available")
    cert, key = made
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    requests: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        requests.append(request.path)
        return web.json_response({"id": 1})

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_context).start()
    url = f"https://127.0.0.1:{runner.addresses[0][1]}/v"
    try:
        async with AsyncIndicaClient(
            KEY, base_url=url, retry=attrs.evolve(FAST, max_retries=1)
        ) as client:
            error = await collect_error(client.customers.get(1))
        assert isinstance(error, APIConnectionError), repr(error)
        assert "Certificate" in str(error) or "SSL" in str(error)
        assert requests == []
        # The control: the same server, trusted explicitly through a session of one's
        # own, is reached. So the refusal above was verification, nothing else.
        trusting = ssl.create_default_context(cafile=str(cert))
        async with (
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=trusting)) as session,
            AsyncIndicaClient(KEY, base_url=url, session=session) as client,
        ):
            assert (await client.customers.get(1)).id == 1
        assert requests == ["/v/customers/1"]
    finally:
        await runner.cleanup()


# --- personal data ------------------------------------------------------------------------


async def test_customer_values_never_reach_the_logs(all_logs: LogCapture) -> None:
    config = SandboxConfig(customers=3000, faults=FAULTS, seed=78)
    async with Sandbox(config) as sandbox:
        async with AsyncIndicaClient(
            sandbox.api_key, base_url=sandbox.base_url, retry=FAST
        ) as client:
            got = [
                c
                async for c in client.customers.iterate(
                    start_date="2024-01-01", end_date="2024-12-31", limit=50
                )
            ]
        assert [c.id for c in got] == list(sandbox.records.ids)
        assert client.stats.retries > 0

    values: set[str] = set()
    for record in list(sandbox.records)[::25]:
        body = record.body
        values.update(
            v
            for v in (body.get("email"), body.get("phone"), body.get("state_id"))
            if isinstance(v, str) and len(v) >= 5
        )
        if body.get("first_name") and body.get("last_name"):
            values.add(f"{body['first_name']} {body['last_name']}")
    assert len(values) > 200
    texts = all_logs.texts()
    assert len(texts) >= client.stats.retries
    leaked = sorted(v for v in values if any(v in text for text in texts))
    assert leaked == []


async def test_a_state_id_looked_up_is_in_no_log_and_no_error(all_logs: LogCapture) -> None:
    state_id = "CA-D8675309"
    faults = FaultConfig(rate=1.0, kinds=("503", "drop", "429_seconds"), retry_after=0.001)
    async with (
        Sandbox(SandboxConfig(customers=10, faults=faults)) as sandbox,
        AsyncIndicaClient(
            sandbox.api_key, base_url=sandbox.base_url, retry=attrs.evolve(FAST, max_retries=3)
        ) as client,
    ):
        failed = await collect_error(client.customers.get_by_state_id(state_id))
    async with (
        Sandbox(SandboxConfig(customers=10)) as sandbox,
        AsyncIndicaClient(sandbox.api_key, base_url=sandbox.base_url) as client,
    ):
        missing = await collect_error(client.customers.get_by_state_id(state_id))
    assert isinstance(missing, NotFoundError)
    assert sandbox.stats.by_endpoint["state"] == 1  # it was looked up, and not found
    for error in (failed, missing):
        assert state_id not in everything_about(error)
        assert isinstance(error, APIError)
        assert error.path == "/customers/state-id/{state_id}"
    assert len([r for r in all_logs.records if r.name == "indica_async"]) == 3
    assert all_logs.find(state_id) == []


@pytest.fixture
async def serve_json() -> AsyncIterator[Callable[[Any], Awaitable[str]]]:
    """Serve one JSON document on every path; returns the base URL."""
    runners: list[web.AppRunner] = []

    async def serve(document: Any) -> str:
        async def handler(request: web.Request) -> web.Response:
            return web.Response(body=orjson.dumps(document), content_type="application/json")

        app = web.Application()
        app.router.add_get("/{tail:.*}", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        runners.append(runner)
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        return f"http://127.0.0.1:{runner.addresses[0][1]}/v"

    try:
        yield serve
    finally:
        for runner in runners:
            await runner.cleanup()


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("phone", 5558675309, "str | null"),
        ("email", ["jenny@example.com"], "str | null"),
        ("date_of_birth", "1981-13-45", "date"),
        ("state_id", {"number": "CA-D8675309"}, "str | null"),
        ("weight", "one hundred and forty", "int | float | null"),
        ("address", "12 Secret Lane", "object | null"),
    ],
)
async def test_decode_errors_name_the_field_and_type_never_the_value(
    serve_json: Callable[[Any], Awaitable[str]], field: str, value: Any, expected: str
) -> None:
    neighbour = {"id": 1, "email": "neighbour@example.com", "first_name": "Neighbourly"}
    wrong = {"id": 2, "first_name": "Jenny", "last_name": "Tutone", field: value}
    url = await serve_json([neighbour, wrong])
    async with AsyncIndicaClient(KEY, base_url=url, retry=FAST) as client:
        error = await collect_error(
            client.customers.list(start_date="2024-01-01", end_date="2024-01-02")
        )
    assert isinstance(error, DecodeError)
    assert error.field == f"$[1].{field}" and error.expected == expected
    assert field in str(error) and expected in str(error)
    text = everything_about(error)
    shown = value if isinstance(value, str) else orjson.dumps(value).decode()
    for secret in (str(value), shown, "8675309", "jenny@example.com", "Secret Lane"):
        assert secret not in text
    for other in ("neighbour@example.com", "Neighbourly", "Jenny", "Tutone"):
        assert other not in text


async def test_server_errors_keep_nothing_of_the_body(
    serve_json: Callable[[Any], Awaitable[str]],
) -> None:
    # A 5xx that dumps a whole page of customers carries none of it into the error.
    del serve_json
    rows = [{"id": i, "email": f"person{i}@example.com"} for i in range(200)]

    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=500, body=orjson.dumps(rows), content_type="application/json")

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/v"
        async with AsyncIndicaClient(
            KEY, base_url=url, retry=attrs.evolve(FAST, max_retries=0)
        ) as client:
            error = await collect_error(client.customers.get(1))
    finally:
        await runner.cleanup()
    assert isinstance(error, ServerError)
    assert str(error) == "500 the API failed (GET /customers/1)"
    assert "@example.com" not in everything_about(error)


def key_fragments(key: str) -> list[str]:
    """Every run of 8 characters of ``key``: a leaked prefix or suffix shows as one."""
    return [key[i : i + 8] for i in range(len(key) - 7)]


async def test_hostile_error_bodies_leak_no_key_fragment_and_no_state_id() -> None:
    # A server that echoes what it was sent into its error bodies in every form a
    # redaction could miss: the key split across byte 800, JSON-escaped, after a
    # header name; and a 404 that names the state ID looked up.
    slashed = "sk-live/9f2c7e1a5b3d/4f60aa71"

    async def hostile(request: web.Request) -> web.Response:
        key = request.headers["X-Api-Key"]
        escaped = orjson.dumps({"key": key}).decode().replace("/", "\\/")
        bodies = {
            1: "x" * (800 - len(key) // 2) + key + "y" * 300,
            2: escaped.replace("-", "\\u002d"),
            3: f"HTTP/1.1 400\r\nX-Api-Key: {key}\r\n",
        }
        if "sid" in request.match_info:
            body = f'{{"error":"no customer with state_id {request.match_info["sid"]}"}}'
            return web.Response(status=404, text=body)
        # The id says what to send: status * 10 + the body's form.
        status, form = divmod(int(request.match_info["id"]), 10)
        return web.Response(status=status, text=bodies[form])

    app = web.Application()
    app.router.add_get("/v/customers/state-id/{sid}", hostile)
    app.router.add_get("/v/customers/{id}", hostile)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/v"
    state_id = "CA-D8675309"
    errors: list[IndicaError] = []
    try:
        for key in (KEY, slashed):
            async with AsyncIndicaClient(
                key, base_url=url, retry=attrs.evolve(FAST, max_retries=0)
            ) as client:
                errors.append(await collect_error(client.customers.get_by_state_id(state_id)))
                for status in (400, 401, 404, 500):
                    for form in (1, 2, 3):
                        call = client.customers.get(status * 10 + form)
                        errors.append(await collect_error(call))
    finally:
        await runner.cleanup()
    assert len(errors) == 26
    assert all(isinstance(e, APIStatusError) for e in errors)
    for error in errors:
        text = everything_about(error)
        for key in (KEY, slashed):
            assert not any(fragment in text for fragment in key_fragments(key)), repr(error)
        assert "8675309" not in text
