"""``indica-async sandbox serve``: the sandbox's own command, ``python -m indica_async.sandbox``.

One way to run the sandbox standalone, one set of options and defaults: this command
hands its arguments to the sandbox's module, which needs no click (``pip install
indica-async`` is enough for it).
"""

from __future__ import annotations

import click

from ..sandbox import main as sandbox_main

__all__ = ["serve_command"]


@click.command(
    "serve",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def serve_command(ctx: click.Context, args: tuple[str, ...]) -> None:
    """Serve the sandbox until Ctrl-C; prints INDICA_BASE_URL=... and INDICA_API_KEY=...

    The same command as python -m indica_async.sandbox: see --help for its options.
    """
    ctx.exit(sandbox_main(list(args), prog=ctx.command_path))
