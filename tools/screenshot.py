"""Full-page 1440×900 screenshots of pages of a running server, logged in as a demo role.

    python tools/screenshot.py http://127.0.0.1:8050 leader / /map/health "/indicator/bed_occupancy?grain=year" \
        --out screenshots/

The password comes from DATA_DIR/demo-accounts.txt (lines ``role username password``) or --password.
Each page waits until Dash has finished its callbacks (no pending requests), then a short settle time.
Console errors and requests to non-loopback hosts are printed as warnings.
"""
from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlparse

import click

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from _browser import ARGS, CHROMIUM, IDLE, demo_accounts, login, path_slug  # noqa: E402 — after the path


def _credentials(role: str, username: str | None, password: str | None) -> tuple[str, str]:
    if username and password:
        return username, password
    account = demo_accounts().get(role)
    if account is None:
        raise click.ClickException(f"演示账号文件中没有角色 {role!r}：请用 --username 与 --password 指定账号")
    return username or account[0], password or account[1]


def _file_name(path: str) -> str:
    return path_slug(path)[:120] + ".png"


@click.command()
@click.argument("base_url")
@click.argument("role")
@click.argument("paths", nargs=-1, required=True)
@click.option("--out", "out_dir", default="screenshots", show_default=True, type=click.Path(file_okay=False))
@click.option("--username", default=None, help="instead of the demo account of ROLE")
@click.option("--password", default=None)
@click.option("--settle", default=800, show_default=True, help="milliseconds to wait after callbacks finish")
@click.option("--width", default=1440, show_default=True)
@click.option("--height", default=900, show_default=True)
def main(base_url: str, role: str, paths: tuple[str, ...], out_dir: str, username: str | None,
         password: str | None, settle: int, width: int, height: int) -> None:
    """Log in as ROLE on BASE_URL and save a full-page screenshot of every PATH into --out."""
    from playwright.sync_api import sync_playwright

    user, pwd = _credentials(role, username, password)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    base = base_url.rstrip("/")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
        page = context.new_page()
        problems: list[str] = []
        page.on("console", lambda m: problems.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
        page.on("request", lambda r: problems.append(f"non-loopback request: {r.url}")
                if (urlparse(r.url).hostname or "") not in ("127.0.0.1", "localhost", "::1")
                and urlparse(r.url).scheme in ("http", "https") else None)
        login(page, base, (user, pwd))
        if "/login" in page.url:
            raise click.ClickException(f"login as {user} failed")
        for path in paths:
            problems.clear()
            page.goto(base + (path if path.startswith("/") else "/" + path))
            page.wait_for_load_state("networkidle")
            page.wait_for_function(IDLE, timeout=30000)
            page.wait_for_timeout(settle)
            target = out / _file_name(path)
            page.screenshot(path=str(target), full_page=True)
            click.echo(f"{target}  ({path})")
            for problem in problems:
                click.echo(f"  warning: {problem}", err=True)
        context.close()
        browser.close()


if __name__ == "__main__":
    main()
