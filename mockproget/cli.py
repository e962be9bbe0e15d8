"""``mockproget serve`` and ``mockproget verify``."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence

from .config import ConfigError, load_config
from .server import MockProGet

__all__ = ["main"]


def _serve(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config).with_overrides(
            host=args.host, port=args.port, admin_key=args.admin_key, seed=args.seed)
        server = MockProGet(config)
        server.start()
    except ConfigError as error:
        print(f"mockproget: bad configuration: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"mockproget: cannot listen on {config.host}:{config.port}: {error.strerror or error}",
              file=sys.stderr)
        return 1
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    settings = server.backend.settings
    given = config.admin_key is not None
    print(f"mockproget: ProGet {settings.parsed_version} ({settings.edition} edition) "
          f"listening on {server.url}")
    print(f"mockproget: admin API key: {'(as given)' if given else server.admin_key}")
    print(f"mockproget: seed: {config.seed if config.seed is not None else '(none: random keys)'}")
    print("mockproget: press Ctrl+C to stop", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    print("mockproget: stopped", flush=True)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mockproget", description="A mock ProGet server (api-keys endpoints).")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the mock server until interrupted")
    serve.add_argument("--config", metavar="FILE", help="TOML configuration file")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (default 8624; 0 picks a free one)")
    serve.add_argument("--admin-key", metavar="KEY",
                       help="text of the full-control admin key (default: random; "
                            "MOCKPROGET_ADMIN_KEY keeps it out of the process list)")
    serve.add_argument("--seed", type=int, help="make generated keys deterministic")
    serve.set_defaults(func=_serve)
    verify = commands.add_parser("verify", help="check a server against the api-keys contract, clause by clause")
    from contracts.verify import add_arguments, run as run_verify
    add_arguments(verify)
    verify.set_defaults(func=run_verify)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))
