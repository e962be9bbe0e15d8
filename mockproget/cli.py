"""``mockproget serve`` and ``mockproget verify``."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import signal
import sys
import time
import warnings
from collections.abc import Sequence

from . import clihelp
from .config import Config, ConfigError, load_config
from .control import ExposedWarning
from .errors import InvalidInput, ProGetError
from .faults import FaultRuleError, FaultSet, parse_fault_spec
from .journal import check_bytes, check_size
from .server import MockProGet

__all__ = ["main"]


def _serve(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config).with_overrides(
            host=args.host, port=args.port, admin_key=args.admin_key, seed=args.seed,
            control_token=args.control_token, journal_size=args.journal_size,
            journal_bytes=args.journal_bytes, control_check_host=False if args.control_any_host else None)
        config = _with_cli_faults(config, args.fault or [])
        config = _with_server_flags(config, args)
        _raise_descriptor_limit(config.server.connections)
        with warnings.catch_warnings():  # the banner below says it, in its own words
            warnings.simplefilter("ignore", ExposedWarning)
            server = MockProGet(config)
        server.start()
    except ConfigError as error:
        print(f"mockproget: bad configuration: {error}", file=sys.stderr)
        return 2
    except ProGetError as error:  # the seeded state breaks a rule (a key's feed is missing, ...)
        problem = "; ".join(error.problems) if isinstance(error, InvalidInput) else error.message
        print(f"mockproget: bad configuration: {args.config or 'flags'}: seeded state: {problem}",
              file=sys.stderr)
        return 2
    except OSError as error:
        print(f"mockproget: cannot listen on {config.host}:{config.port}: {error.strerror or error}",
              file=sys.stderr)
        return 1
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    settings = server.backend.settings
    given = bool(config.admin_key)
    bound = f"[{config.host}]" if ":" in config.host else config.host
    where = f"http://{bound}:{server.port}/"
    print(f"mockproget: ProGet {settings.parsed_version} ({settings.edition} edition) "
          f"listening on {where}" + ("" if where == server.url else f" (from this machine: {server.url})"))
    print(f"mockproget: admin API key: {'(as given)' if given else server.admin_key}")
    print(f"mockproget: seed: {config.seed if config.seed is not None else '(none: random keys)'}")
    rules = server.faults.rules
    if rules:
        print(f"mockproget: fault rules: {', '.join(r.name for r in rules)}")
    if not config.control_token and not _loopback(config.host):
        print(f"mockproget: warning: {config.host} is not a loopback address and the control API "
              f"(/__mockproget__/) has no token: anyone who can reach it can reset the state and "
              f"inject faults; set --control-token or MOCKPROGET_CONTROL_TOKEN", file=sys.stderr)
    terminated: list[int] = []
    signal.signal(signal.SIGTERM, lambda number, _: terminated.append(number))  # before the banner's
    print("mockproget: press Ctrl+C to stop", flush=True)  # last line, which tells a supervisor we are up
    try:
        # a short sleep, again: Python runs a signal's handler in this thread, at its next
        # step, and the kernel may hand the signal to another thread (a wait on a lock
        # would then never see it); the handler takes no lock (one the wait held would
        # never be given back)
        while not terminated:
            time.sleep(_POLL)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    print("mockproget: stopped", flush=True)
    return 0


def _with_server_flags(config: Config, args: argparse.Namespace) -> Config:
    """``--no-keep-alive``, ``--idle-timeout``, ... over the ``[server]`` table."""
    changes = {name: getattr(args, name) for name in
               ("idle_timeout", "header_timeout", "body_timeout", "workers", "connections")
               if getattr(args, name, None) is not None}
    if getattr(args, "no_keep_alive", False):
        changes["keep_alive"] = False
    if not changes:
        return config
    try:
        return config.with_overrides(server=config.server.updated(**changes))
    except ValueError as error:
        name, _, problem = str(error).partition(": ")
        raise ConfigError("flags", f"--{name.replace('_', '-')}", problem) from None


#: How often ``serve``'s main thread looks for a stop signal (seconds): the longest a
#: SIGTERM handed to another thread waits to be seen.
_POLL = 0.1


def _raise_descriptor_limit(connections: int) -> None:
    """Room for ``connections`` sockets: the soft open-file limit up to the hard one."""
    try:
        import resource
    except ImportError:  # not on this platform
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = connections + 256
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            pass  # the server still survives running out: it pauses accepting


def _with_cli_faults(config: Config, specs: list[str]) -> Config:
    """Append the ``--fault`` rules to the configured ones (validated: exit 2 when bad)."""
    rules = list(config.faults)
    for spec in specs:
        try:
            rules.append(parse_fault_spec(spec))
            FaultSet(rules)  # validates the new rule, and that its name is unique
        except FaultRuleError as error:
            if len(error.errors) > 1:  # every problem, as everywhere else
                raise ConfigError(f"--fault {spec!r}", "rule", "; ".join(error.problems)) from None
            raise ConfigError(f"--fault {spec!r}", error.field, error.problem) from None
    return config.with_overrides(faults=rules)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def _seconds(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None


def _journal_size(text: str) -> int:
    try:
        return check_size(_int(text))
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _journal_bytes(text: str) -> int:
    try:
        return check_bytes(_int(text))
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _port(text: str) -> int:
    value = _int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be between 0 and 65535, not {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mockproget", description=clihelp.MAIN_DESCRIPTION,
                                     epilog=clihelp.MAIN_EPILOG, formatter_class=_Formatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser("serve", help="run the mock server until interrupted", formatter_class=_Formatter,
                                description=clihelp.SERVE_DESCRIPTION, epilog=clihelp.SERVE_EPILOG)
    serve.add_argument("--config", metavar="FILE", help="TOML configuration file")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, help="port to bind (default 8624; 0 picks a free one)")
    serve.add_argument("--admin-key", metavar="KEY",
                       help="text of the full-control admin key (default: random; "
                            "MOCKPROGET_ADMIN_KEY keeps it out of the process list)")
    serve.add_argument("--seed", type=int,
                       help="drive every random choice (generated keys, fault draws, delays, "
                            "garbage bytes) from this seed, for reproducible runs")
    serve.add_argument("--fault", action="append", metavar="SPEC",
                       help="add a fault rule (repeatable), e.g. "
                            "'POST /api/api-keys/create 503 probability=0.3' or "
                            "'{path=\"/api/*\", action=\"reset\", times=1}'; see docs/faults.md")
    serve.add_argument("--control-token", metavar="TOKEN",
                       help="require this token in the X-MockProGet-Token header of control API "
                            "requests (MOCKPROGET_CONTROL_TOKEN keeps it out of the process list)")
    serve.add_argument("--journal-size", type=_journal_size, metavar="N",
                       help="keep the last N requests in the journal (default 1000)")
    serve.add_argument("--journal-bytes", type=_journal_bytes, metavar="BYTES",
                       help="keep at most this many bytes of journal entries (default 32 MiB)")
    serve.add_argument("--control-any-host", action="store_true",
                       help="let the control API answer requests whatever their Host header "
                            "(by default only the bound address, localhost and [control] allowed_hosts)")
    lifecycle = serve.add_argument_group("connections (docs/server.md)")
    lifecycle.add_argument("--no-keep-alive", action="store_true",
                           help="close every connection after its answer (default: HTTP/1.1 keep-alive)")
    lifecycle.add_argument("--idle-timeout", type=_seconds, metavar="S",
                           help="close a kept-alive connection idle this long (default 120)")
    lifecycle.add_argument("--header-timeout", type=_seconds, metavar="S",
                           help="a request's headers must arrive within S seconds (default 30)")
    lifecycle.add_argument("--body-timeout", type=_seconds, metavar="S",
                           help="a request's body must arrive within S seconds (default 60)")
    lifecycle.add_argument("--workers", type=_int, metavar="N",
                           help="threads that run requests (default 16)")
    lifecycle.add_argument("--connections", type=_int, metavar="N",
                           help="open connections at most (default 1000)")
    serve.set_defaults(func=_serve)
    verify = commands.add_parser("verify", help="check a server against the api-keys contract, clause by clause",
                                 formatter_class=_Formatter, description=clihelp.VERIFY_DESCRIPTION,
                                 epilog=clihelp.VERIFY_EPILOG)
    from mockproget_contracts.verify import add_arguments, run as run_verify
    add_arguments(verify)
    verify.set_defaults(func=run_verify)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; with none, print the help and return 2 (a usage error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return int(args.func(args))


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions and epilogs as written (their examples and tables keep their lines)."""


def _version() -> str:
    """The installed distribution's version (the source's when not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    from . import __version__

    try:
        return version("mockproget")
    except PackageNotFoundError:
        return __version__
