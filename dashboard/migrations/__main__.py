"""``python -m dashboard.migrations``: alembic's commands on the app database without an alembic.ini.

    python -m dashboard.migrations current
    python -m dashboard.migrations history
    python -m dashboard.migrations revision --autogenerate -m "add x"     # next id: 0003, 0004, …
    python -m dashboard.migrations upgrade head [--sql]
    python -m dashboard.migrations downgrade 0001 [--sql]
    python -m dashboard.migrations stamp 0001

The database is ``--url`` or the configured ``APP_DB_URL``. The app itself needs none of this: ``init_app_db``
upgrades at start-up.
"""
from __future__ import annotations

import argparse

from alembic import command

from dashboard.migrations import HEAD, alembic_config


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run one alembic command."""
    parser = argparse.ArgumentParser(prog="python -m dashboard.migrations")
    parser.add_argument("--url", help="app database URL (default: APP_DB_URL / the configured one)")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("current")
    sub.add_parser("history")
    rev = sub.add_parser("revision")
    rev.add_argument("-m", "--message", required=True)
    rev.add_argument("--autogenerate", action="store_true")
    rev.add_argument("--rev-id", help=f"default: the number after HEAD ({HEAD})")
    for name in ("upgrade", "downgrade"):
        p = sub.add_parser(name)
        p.add_argument("revision")
        p.add_argument("--sql", action="store_true", help="print the SQL instead of running it")
    stamp = sub.add_parser("stamp")
    stamp.add_argument("revision")
    args = parser.parse_args(argv)

    url = args.url
    if not url:
        from core.config import load_config
        url = load_config().app_db_url
    cfg = alembic_config(url)
    if args.cmd == "current":
        command.current(cfg, verbose=True)
    elif args.cmd == "history":
        command.history(cfg, verbose=True)
    elif args.cmd == "revision":
        command.revision(cfg, message=args.message, autogenerate=args.autogenerate,
                         rev_id=args.rev_id or f"{int(HEAD) + 1:04d}")
    elif args.cmd == "upgrade":
        command.upgrade(cfg, args.revision, sql=args.sql)
    elif args.cmd == "downgrade":
        command.downgrade(cfg, args.revision, sql=args.sql)
    else:
        command.stamp(cfg, args.revision)


if __name__ == "__main__":
    main()
