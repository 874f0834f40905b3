"""`remedy …`: serve, socket, worker, cron, console, demo, sandbox, doctor, db upgrade, audit, config check."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from remedy.config import ConfigError, Settings, load_settings
from remedy.team import TeamConfigError
from remedy.workflow import WorkflowError


def _settings(*required: str) -> Settings:
    settings = load_settings()
    settings.require(*required)
    return settings


def cmd_serve(args: argparse.Namespace) -> int:
    from bot.app import create_app
    from bot.jamf_webhook import PATH, JamfWebhooks
    from bot.server import serve_http, serve_socket
    from remedy.services import Services

    settings = _settings("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
    services = Services.from_settings(settings)
    app = create_app(services)
    if args.socket or (args.mode == "auto" and settings.socket_mode):
        serve_socket(app, settings.secret("SLACK_APP_TOKEN"))
    else:
        webhooks = JamfWebhooks.from_services(services)
        print(f"remedy: listening on http://{args.host}:{args.port}/slack/events", file=sys.stderr)
        if webhooks.enabled:
            print(f"remedy: Jamf webhooks on http://{args.host}:{args.port}{PATH}", file=sys.stderr)
        serve_http(app, args.port, host=args.host, threads=args.threads, webhooks=webhooks)
    return 0


def cmd_socket(args: argparse.Namespace) -> int:
    args.socket = True
    _settings("SLACK_APP_TOKEN")
    return cmd_serve(args)


def cmd_worker(args: argparse.Namespace) -> int:
    from remedy.services import Services
    from workers.main import run_worker

    settings = _settings("SLACK_BOT_TOKEN")
    run_worker(Services.from_settings(settings), burst=args.burst)
    return 0


def cmd_cron(args: argparse.Namespace) -> int:
    from remedy.queue import JobQueue, connect
    from workers.cron import run_cron

    settings = _settings()
    run_cron(JobQueue(connect(settings.REDIS_URL), settings.REMEDY_QUEUE), every=args.every)
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from remedy.doctor import run_checks
    from remedy.services import Services

    checks = run_checks(Services.from_settings(_settings()))
    for check in checks:
        print(check.line())
    return 1 if any(c.status == "fail" for c in checks) else 0


def cmd_db(args: argparse.Namespace) -> int:
    from remedy.db import upgrade

    settings = _settings()
    upgrade(settings.DATABASE_URL, args.revision)
    print(f"database at {args.revision}: {settings.DATABASE_URL.split('@')[-1]}")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from remedy.audit import verify
    from remedy.db import Database

    settings = _settings()
    db = Database(settings.DATABASE_URL)
    if args.action == "export":
        return _audit_export(db, args)
    if args.action == "prune":
        from remedy.audit import AuditWriter
        from remedy.audit.retention import prune

        pruned = prune(db, AuditWriter(db), settings.REMEDY_AUDIT_RETENTION_DAYS, datetime.now(UTC))
        print(pruned.message)
        return 1 if pruned.refused else 0
    result = verify(db)
    print(result.describe())
    return 0 if result.ok else 1


def _audit_export(db: Any, args: argparse.Namespace) -> int:
    from remedy.audit.export import export

    since = None
    if args.since:
        try:
            since = datetime.fromisoformat(args.since)
        except ValueError:
            print(f"remedy: --since {args.since!r} is not a date (YYYY-MM-DD) or ISO time", file=sys.stderr)
            return 2
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
    ticket = args.ticket.strip().upper() if args.ticket else None
    if args.output:
        with open(args.output, "w", encoding="utf-8", newline="") as out:
            count = export(db, out, args.format, ticket, since)
        print(f"{count} audit events written to {args.output}", file=sys.stderr)
    else:
        count = export(db, sys.stdout, args.format, ticket, since)
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    from pathlib import Path

    from remedy.configcheck import check

    folder = Path(args.dir) if args.dir else _settings().REMEDY_CONFIG_DIR
    if folder is not None and not folder.is_dir():
        print(f"remedy: {folder} is not a directory", file=sys.stderr)
        return 2
    result = check(folder)
    for problem in result.problems:
        print(f"❌ {problem}")
    print(f"{'✅' if not result.problems else '❌'} {len(result.sources)} files checked, "
          f"{len(result.problems)} problem{'s' if len(result.problems) != 1 else ''}: {', '.join(result.sources)}")
    return 1 if result.problems else 0


def cmd_sandbox(args: argparse.Namespace) -> int:
    from remedy.sandbox.run import run_sandbox

    run_sandbox(port=args.port)
    return 0


def cmd_console(args: argparse.Namespace) -> int:
    from remedy_cli.console import run_console

    return run_console(user=args.user, channel=args.channel, redis_url=args.redis_url)


def cmd_demo(args: argparse.Namespace) -> int:
    from remedy_cli.demo import run_demo

    return run_demo(redis_url=args.redis_url, scenario=args.scenario)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="remedy", description="Slack command center for macOS app remediation")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, fn: Callable[[argparse.Namespace], int], help_: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_, description=help_)
        sp.set_defaults(fn=fn)
        return sp

    sp = add("serve", cmd_serve, "serve the Slack app over HTTP at /slack/events (or Socket Mode)")
    sp.add_argument("--port", type=int, default=3000)
    sp.add_argument("--host", default="0.0.0.0")
    sp.add_argument("--threads", type=int, default=16)
    sp.add_argument("--mode", choices=["auto", "http"], default="http",
                    help="auto: Socket Mode when SLACK_APP_TOKEN is set")
    sp.set_defaults(socket=False)
    sp = add("socket", cmd_socket, "connect to Slack over Socket Mode (needs SLACK_APP_TOKEN)")
    sp.set_defaults(port=0, host="", threads=0, mode="auto")
    sp = add("worker", cmd_worker, "run a job worker (RQ, JSON serializer)")
    sp.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    sp = add("cron", cmd_cron, "enqueue periodic jobs (run exactly one)")
    sp.add_argument("--every", type=float, default=20.0, help="seconds between schedule checks")
    add("doctor", cmd_doctor, "check Redis, the database and every configured service")
    sp = add("db", cmd_db, "database tools: `remedy db upgrade`")
    sp.add_argument("action", choices=["upgrade"])
    sp.add_argument("revision", nargs="?", default="head")
    sp = add("audit", cmd_audit, "audit tools: `remedy audit verify | export | prune`")
    sp.add_argument("action", choices=["verify", "export", "prune"],
                    help="verify: check the hash chain · export: write events · prune: apply the retention")
    sp.add_argument("--format", choices=["csv", "jsonl"], default="jsonl", help="export format")
    sp.add_argument("--ticket", help="export only this ticket's events")
    sp.add_argument("--since", help="export events from this date or ISO time (UTC when no offset)")
    sp.add_argument("--output", help="export to this file instead of standard output")
    sp = add("config", cmd_config, "check every YAML file in REMEDY_CONFIG_DIR: `remedy config check`")
    sp.add_argument("action", choices=["check"])
    sp.add_argument("--dir", help="the folder to check (default: REMEDY_CONFIG_DIR, else the shipped defaults)")
    sp = add("sandbox", cmd_sandbox, "run every simulator over HTTP and print their URLs")
    sp.add_argument("--port", type=int, default=0, help="first port (0: any free ports)")
    for name, fn, help_ in (("console", cmd_console, "type /remedy lines against the embedded sandbox"),
                            ("demo", cmd_demo, "run the CPE-3222 demo against the embedded sandbox")):
        sp = add(name, fn, help_)
        sp.add_argument("--redis-url", default=None, help="use this Redis instead of the in-process one")
        if name == "demo":
            sp.add_argument("--scenario", choices=["cpe-3222"], default=None,
                            help="run this scenario instead: cpe-3222 is the roadmap's whole workflow")
        if name == "console":
            sp.add_argument("--user", default="alice", help="team handle or Slack id to act as")
            sp.add_argument("--channel", default="C0CPETEAM")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # The console and demo print what Slack would show; service logs would drown it.
    quiet = args.command in ("console", "demo")
    logging.basicConfig(level=logging.ERROR if quiet else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return int(args.fn(args))
    except (ConfigError, TeamConfigError, WorkflowError) as exc:
        print(f"remedy: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
