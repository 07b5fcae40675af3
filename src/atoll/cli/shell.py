"""Running the platform (``serve``) and the shell's completion scripts."""

from __future__ import annotations

import sys

from atoll.cli.commands import COMMANDS, Cli, command
from atoll.cli.output import fail
from atoll.cli.parsing import Arg

TYPE_CHECKING = False  # pydantic is imported only when the server starts
if TYPE_CHECKING:
    from pydantic import ValidationError


@command(
    "serve",
    "Run the platform on this machine (control plane, app gateway, DB service).",
    Arg("--host", help="address to bind (env ATOLL_HOST; default: 127.0.0.1)"),
    Arg("--port", type=int, help="control plane port (env ATOLL_PORT; default: 8000)"),
    Arg(
        "--gateway-port",
        type=int,
        help="app gateway port (env ATOLL_GATEWAY_PORT; default: 8080)",
    ),
    Arg("--db-port", type=int, help="DB service port (env ATOLL_DB_PORT; default: 8081)"),
    Arg(
        "--data-dir",
        metavar="DIR",
        help="where all data lives (env ATOLL_DATA_DIR; default: ./.atoll)",
    ),
    Arg("--demo", action="store_true", help="create tenant demo with app todo"),
    section="start",
)
def serve(cli: Cli) -> None:
    """``atoll serve``."""
    from pathlib import Path

    from pydantic import ValidationError

    from atoll.config import Settings
    from atoll.server import serve as run_server

    args = cli.args
    given = {
        "host": args.host,
        "port": args.port,
        "gateway_port": args.gateway_port,
        "db_port": args.db_port,
        "data_dir": None if args.data_dir is None else Path(args.data_dir),
    }
    # An option given on the line wins; the others come from ATOLL_* or their defaults.
    try:
        settings = Settings(**{k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:
        fail(setting_error(exc), 2)
    run_server(settings, demo=args.demo)


def setting_error(exc: ValidationError) -> str:
    """One line naming the first setting that does not fit, by its environment variable."""
    import atoll.config

    first = exc.errors()[0]
    model = getattr(atoll.config, exc.title, None)
    prefix = str(getattr(model, "model_config", {}).get("env_prefix", "ATOLL_"))
    name = "_".join(str(part) for part in first["loc"]).upper()
    value = str(first.get("input", ""))[:60]
    return f"setting {prefix}{name}={value!r} is not valid: {first['msg']}"


@command(
    "completion",
    "Print a shell completion script: source <(atoll completion bash).",
    Arg("shell", choices=["bash", "zsh", "fish"], metavar="SHELL"),
    section="shell",
)
def completion(cli: Cli) -> None:
    """``atoll completion``."""
    from atoll.cli import completion as scripts

    make = {"bash": scripts.bash, "zsh": scripts.zsh, "fish": scripts.fish}[cli.args.shell]
    sys.stdout.write(make(COMMANDS))
