"""What the screenshot scripts share: the headless Chromium to launch, the demo accounts, the login form, the
wait for Dash to finish its callbacks and a file name for a page path."""
from __future__ import annotations

import re
from typing import Any

import click

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
# Dash marks the document while callbacks run (``data-dash-is-loading``); a page is idle when no element has it.
IDLE = "() => !document.querySelector('[data-dash-is-loading=\"true\"]')"


def demo_accounts() -> dict[str, tuple[str, str]]:
    """{role: (username, password)} of ``DATA_DIR/demo-accounts.txt`` (lines ``role username password``)."""
    from core.config import load_config
    path = load_config().demo_accounts_path
    if not path.exists():
        raise click.ClickException(f"未找到演示账号文件 {path}")
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) == 3 and not line.startswith("#"):
            out[parts[0]] = (parts[1], parts[2])
    return out


def login(page: Any, base: str, account: tuple[str, str]) -> None:
    """Log ``page`` in through the real login form with ``account`` (username, password)."""
    page.goto(f"{base}/login")
    page.fill("input[name=username]", account[0])
    page.fill("input[name=password]", account[1])
    with page.expect_navigation():
        page.click("button[type=submit]")


def path_slug(path: str) -> str:
    """A page path as a file-name stem (``home`` for ``/``)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", path.strip("/")) or "home"
