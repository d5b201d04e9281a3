"""The `country-positions` command: serve, migrate, seed."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from app import __version__
from app.settings import Settings, get_settings

if TYPE_CHECKING:
    from app.seeding.loader import SeedReport

EXIT_OK, EXIT_BAD_INPUT, EXIT_USAGE = 0, 1, 2


def _serve(args: argparse.Namespace) -> int:
    from app.serving.port_check import bind_problem

    problem = bind_problem(args.host, args.port)
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.check_port:
        return EXIT_OK

    from app.serving import serve

    serve(get_settings(), args.host, args.port, args.workers, args.server)
    return EXIT_OK


def _migrate(args: argparse.Namespace) -> int:
    from app import migrating

    migrating.upgrade(get_settings(), args.revision)
    print(f"database at {args.revision}")
    return EXIT_OK


def _seed(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from app.db import make_engine, make_sessionmaker
    from app.seeding.bulk import load_seeds_bulk
    from app.seeding.loader import load_seeds
    from app.seeding.reading import SeedValidationError

    settings = get_settings()
    folder: Path = args.path or settings.seeds_path
    engine = make_engine(settings, batch=True)
    try:
        load = load_seeds_bulk if args.bulk else load_seeds
        report = load(make_sessionmaker(engine), folder, dry_run=args.dry_run)
    except SeedValidationError as exc:
        for error in exc.errors:
            print(f"error: {error}", file=sys.stderr)
        print(f"{len(exc.errors)} error(s); nothing was written.", file=sys.stderr)
        return EXIT_BAD_INPUT
    except SQLAlchemyError as exc:
        # The transaction rolled back; say why in one line (no traceback, no SQL, no URL).
        reason = str(getattr(exc, "orig", None) or exc.__class__.__name__).splitlines()[0]
        print(f"error: the database refused the load: {reason}", file=sys.stderr)
        print("nothing was written.", file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        engine.dispose()
    for line in report.lines():
        print(line)
    if settings.log_format == "json":
        _log_seed_run(settings, report)
    return EXIT_OK


def _log_seed_run(settings: Settings, report: SeedReport) -> None:
    """The run as one JSON event on stderr, for a log pipeline (text mode: stdout says it)."""
    import logging
    import logging.config

    from app.observability.logging import log_event, logging_config

    logging.config.dictConfig(logging_config(settings))
    counts = {
        kind: {"created": c.created, "updated": c.updated, "unchanged": c.unchanged}
        for kind, c in report.counts.items()
    }
    log_event(
        logging.getLogger("app.seeding"),
        "seed_run",
        "seed run: " + ("dry run" if report.dry_run else f"revision {report.revision}"),
        counts=counts,
        dry_run=report.dry_run,
        revision=report.revision,
        changed=report.changed,
    )


def _formatter(prog: str) -> argparse.HelpFormatter:
    # A fixed width keeps the README's generated --help identical on every terminal.
    return argparse.HelpFormatter(prog, width=88)


def _keys(args: argparse.Namespace) -> int:
    from app.api_keys import service
    from app.db import make_engine, make_sessionmaker
    from app.errors import AppError
    from app.vocabulary import KeyScope

    engine = make_engine(get_settings())
    try:
        with make_sessionmaker(engine).begin() as session:
            if args.keys_command == "create":
                key, plaintext = service.create_key(
                    session, name=args.name, scope=KeyScope(args.scope)
                )
                print(plaintext)
                print(
                    f"created key {key.name!r} (scope {key.scope.value}); "
                    "it is shown only this once",
                    file=sys.stderr,
                )
            elif args.keys_command == "list":
                print(f"{'name':<24} {'scope':<6} {'prefix':<14} {'created':<33} revoked")
                for key in service.list_keys(session):
                    revoked = key.revoked_at.isoformat() if key.revoked_at else "-"
                    print(
                        f"{key.name:<24} {key.scope.value:<6} {key.prefix:<14} "
                        f"{key.created_at.isoformat():<33} {revoked}"
                    )
            else:
                key = service.revoke_key(session, name=args.name)
                print(f"revoked key {key.name!r}")
    except AppError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        engine.dispose()
    return EXIT_OK


def _release(args: argparse.Namespace) -> int:
    from app.db import make_engine, make_sessionmaker
    from app.errors import AppError
    from app.releases import service

    settings = get_settings()
    engine = make_engine(settings)
    try:
        with make_sessionmaker(engine).begin() as session:
            if args.release_command == "create":
                release = service.create_release(
                    session, settings=settings, version=args.version, notes=args.notes, actor="cli"
                )
                print(
                    f"release {release.version}: revision {release.revision}, "
                    f"sha256 {release.sha256}"
                )
            elif args.release_command == "withdraw":
                release = service.withdraw_release(
                    session, version=args.version, reason=args.reason, actor="cli"
                )
                print(f"release {release.version}: withdrawn ({args.reason})")
            else:
                releases, _ = service.list_releases(session, limit=None, offset=0)
                print(f"{'version':<12} {'revision':>8} {'created':<33} sha256")
                for release in releases:
                    print(
                        f"{release.version:<12} {release.revision:>8} "
                        f"{release.created_at.isoformat():<33} {release.sha256}"
                        + (" withdrawn" if release.withdrawn_at is not None else "")
                    )
    except AppError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        engine.dispose()
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="country-positions",
        formatter_class=_formatter,
        description="Serve assessed positions of European governments on military "
        "assistance to Ukraine, with provenance. The database is DATABASE_URL "
        "(default: an SQLite file under ./var/).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="run the HTTP API (uvicorn, or Granian)",
        formatter_class=_formatter,
        description="Serve the API. Either server caps request headers "
        "(CP_MAX_HEADER_BYTES), times out incomplete ones (CP_HEADER_TIMEOUT) and idle "
        "keep-alive connections (CP_KEEPALIVE_TIMEOUT), and caps connections per worker "
        "(CP_MAX_CONNECTIONS); the README's configuration table says how each behaves.",
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="interface to bind (default: %(default)s)"
    )
    serve.add_argument("--port", type=int, default=8000, help="port to bind (default: %(default)s)")
    serve.add_argument(
        "--workers", type=int, default=1, help="worker processes (default: %(default)s)"
    )
    serve.add_argument(
        "--server",
        choices=["uvicorn", "granian"],
        default="uvicorn",
        help="HTTP server (default: %(default)s)",
    )
    serve.add_argument(
        "--check-port",
        action="store_true",
        help="only check that HOST:PORT can be bound, then exit: 0 if so, else 1 with "
        "one line saying why (make run does this before it migrates)",
    )
    serve.set_defaults(handler=_serve)

    migrate = commands.add_parser(
        "migrate", help="upgrade the database schema (Alembic)", formatter_class=_formatter
    )
    migrate.add_argument(
        "--revision", default="head", help="target revision (default: %(default)s)"
    )
    migrate.set_defaults(handler=_migrate)

    seed = commands.add_parser(
        "seed",
        formatter_class=_formatter,
        help="validate and load seed files (all-or-nothing, idempotent)",
        description="Validate every seed file, then upsert countries, categories, sources, "
        "assessments and groups (with their memberships) in one transaction. Any invalid "
        "record aborts the load before the database is touched; re-running with unchanged "
        "files changes nothing.",
    )
    seed.add_argument(
        "path",
        nargs="?",
        type=Path,
        default=None,
        help="folder holding the seed files (default: CP_SEEDS_PATH, i.e. seeds/)",
    )
    seed.add_argument(
        "--dry-run", action="store_true", help="validate and report, but write nothing"
    )
    seed.add_argument(
        "--bulk",
        action="store_true",
        help="stream assessments.csv through a staging table: for files of millions of "
        "rows (same validation, counts, change log and all-or-nothing transaction)",
    )
    seed.set_defaults(handler=_seed)

    keys = commands.add_parser(
        "keys", help="manage API keys for writes", formatter_class=_formatter
    )
    keys_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    create = keys_commands.add_parser(
        "create",
        help="create a key and print it once (only its hash is stored)",
        formatter_class=_formatter,
    )
    create.add_argument("--name", required=True, help="unique name, logged with every change")
    create.add_argument(
        "--scope",
        choices=["write", "admin"],
        default="write",
        help="write: assessments; admin: also sources (default: %(default)s)",
    )
    keys_commands.add_parser("list", help="list keys (never the keys themselves)")
    revoke = keys_commands.add_parser("revoke", help="revoke a key by name")
    revoke.add_argument("name", help="the key's name")
    keys.set_defaults(handler=_keys)

    releases = commands.add_parser(
        "release",
        help="freeze the dataset as a citable release, withdraw one, or list them",
        formatter_class=_formatter,
    )
    release_commands = releases.add_subparsers(
        dest="release_command", required=True, metavar="ACTION"
    )
    make = release_commands.add_parser(
        "create",
        help="freeze the current revision under VERSION (immutable; never reused)",
        formatter_class=_formatter,
        description="Freeze the current dataset revision as release VERSION: from then on "
        "/releases/VERSION/... answers every read as now, byte for byte. VERSION is "
        "two to four dot-separated numbers, each at most 9999 (e.g. 2026.1), higher than "
        "every earlier release's not withdrawn.",
    )
    make.add_argument("version", help="the release's version, e.g. 2026.1")
    make.add_argument("--notes", default=None, help="what changed, for readers of the release")
    withdraw = release_commands.add_parser(
        "withdraw",
        help="withdraw a mistaken release",
        description="Mark release VERSION as withdrawn (logged, with the reason): it stays "
        "readable, but is no longer the latest, and a lower version may follow it. Its "
        "version is never given again.",
    )
    withdraw.add_argument("version", help="the release's version, e.g. 2027.1")
    withdraw.add_argument("--reason", required=True, help="why, for readers who cited it")
    release_commands.add_parser("list", help="list releases, newest first")
    releases.set_defaults(handler=_release)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Every command reads the settings: read them first, so a bad one is a usage error
    # (one line per setting, exit 2) rather than a traceback from deep inside a command.
    problems = settings_problems()
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    code: int = args.handler(args)
    return code


def settings_problems() -> list[str]:
    """What is wrong with the settings (environment and .env), one line per setting; the
    values themselves are never echoed (DATABASE_URL may hold a password)."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from app.settings import Settings, env_name

    try:
        get_settings()
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            message = str(error["msg"]).removeprefix("Value error, ")
            field, *rest = error["loc"] or ("",)
            if isinstance(field, str) and field in Settings.model_fields:
                where = env_name(field) + "".join(f"[{part}]" for part in rest)
                message = f"{where}: {message}"
            lines.append(message)  # a check across settings names them itself
        return lines
    except SettingsError as exc:
        # pydantic-settings could not decode a value (a list setting takes JSON).
        found = re.search(r'field "(\w+)"', str(exc))
        if found and found[1] in Settings.model_fields:
            return [f'{env_name(found[1])}: not valid JSON (e.g. ["a", "b"] for a list)']
        return [str(exc).splitlines()[0]]
    return []
