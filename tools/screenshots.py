"""Screenshots of every page in every role, for a review by eye (issue 14): one folder per size.

    python tools/screenshots.py http://127.0.0.1:8050 --out screenshots/review
    python tools/screenshots.py http://127.0.0.1:8050 --roles leader --sizes 1366x768 --only /map/reform

Each demo account (``DATA_DIR/demo-accounts.txt``) logs in once and visits the pages its menu offers
(read from the side navigation the server renders for it) plus an indicator page for the viewers; a sample of pages is also taken at 1920×1080,
the cockpit, an indicator page, /map/reform and /alerts on a phone (390×844), and /screen as the wall's account
at 3840×2160. Files are ``<out>/<width>x<height>/<role>__<page>.png``; a page's console errors and any text that
looks like English or a raw code (``H001``, ``EX-T007``, ``failed``) are printed beside its file name, as hints
for the person looking, not as a verdict.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import click

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from _browser import ARGS, CHROMIUM, IDLE, demo_accounts, login, path_slug  # noqa: E402 — after the path

INDICATOR_PAGE = "/indicator/op_antibiotic_rate"
SAMPLE_1920 = ("/", INDICATOR_PAGE, "/map/reform", "/alerts", "/exchange", "/admin/logs")
PHONE_PAGES = ("/", INDICATOR_PAGE, "/map/reform", "/alerts")
# Latin words or code-like tokens in what the page shows (ECharts/AG Grid internals are not in innerText)
SUSPECT = re.compile(r"\b(?:[A-Z]{1,3}-?[A-Z]?\d{3,}|[A-Za-z]{4,})\b")
ALLOWED_WORDS = {"Excel", "Word", "CSV", "HTML", "IP", "PDF", "CPU", "HIS", "LIS", "PACS", "EMR", "ECharts",
                 "Ctrl"}


def plan(roles: tuple[str, ...], sizes: tuple[str, ...], only: tuple[str, ...],
         menus: dict[str, list[str]]) -> list[tuple[str, str, list[str]]]:
    """[(role, 'WxH', paths)] of the review: every role's menu (``menus``) at 1366×768, samples at the other
    sizes."""
    from core.roles import VIEWERS
    jobs = []
    for role in roles:
        menu = list(menus.get(role, [])) + ([INDICATOR_PAGE] if role in VIEWERS else [])
        if role == "screen":
            menu = ["/screen"]
        per_size = {"1366x768": menu, "1920x1080": [p for p in menu if p in SAMPLE_1920 and p != "/screen"],
                    "390x844": [p for p in PHONE_PAGES if p in menu] if role in ("leader", "manager") else [],
                    "3840x2160": ["/screen"] if role == "screen" else []}
        for size in sizes:
            paths = [p for p in per_size.get(size, menu) if not only or p in only]
            if paths:
                jobs.append((role, size, paths))
    return jobs


def _menu(browser: Any, base: str, account: tuple[str, str]) -> list[str]:
    """The paths of the side navigation the server renders for ``account`` (built from the page registry)."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = context.new_page()
    login(page, base, account)
    page.wait_for_selector("nav.side-nav a", timeout=60_000)
    hrefs = page.eval_on_selector_all("nav.side-nav a", "els => els.map(e => e.getAttribute('href'))")
    context.close()
    return list(dict.fromkeys(h.split("?")[0] for h in hrefs if h))


def _file_name(role: str, path: str) -> str:
    return f"{role}__{path_slug(path)[:100]}.png"


def _suspects(text: str) -> list[str]:
    words = {w for w in SUSPECT.findall(text) if w not in ALLOWED_WORDS}
    return sorted(words)[:12]


@click.command()
@click.argument("base_url")
@click.option("--out", "out_dir", default="screenshots/review", show_default=True,
              type=click.Path(file_okay=False))
@click.option("--roles", default="leader,manager,operator,admin,auditor,screen", show_default=True)
@click.option("--sizes", default="1366x768,1920x1080,390x844,3840x2160", show_default=True)
@click.option("--only", multiple=True, help="only these paths (repeatable)")
@click.option("--settle", default=1500, show_default=True, help="毫秒：回调结束后再等待的时间（地图动画）")
@click.option("--full-page/--viewport", default=True, show_default=True)
def main(base_url: str, out_dir: str, roles: str, sizes: str, only: tuple[str, ...], settle: int,
         full_page: bool) -> None:
    """Log in as each demo role on BASE_URL and save screenshots of its pages into --out."""
    from playwright.sync_api import sync_playwright

    accounts = demo_accounts()
    base = base_url.rstrip("/")
    role_list = tuple(r for r in roles.split(",") if r and r in accounts)
    for r in roles.split(","):
        if r and r not in accounts:
            click.echo(f"跳过 {r}：演示账号文件中没有该角色", err=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        menus = {r: _menu(browser, base, accounts[r]) for r in role_list}
        jobs = plan(role_list, tuple(s for s in sizes.split(",") if s), only, menus)
        for role, size, paths in jobs:
            width, height = (int(v) for v in size.split("x"))
            folder = Path(out_dir) / size
            folder.mkdir(parents=True, exist_ok=True)
            context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN",
                                          is_mobile=width < 500, has_touch=width < 500)
            page = context.new_page()
            problems: list[str] = []
            page.on("console", lambda m: problems.append(f"console.{m.type}: {m.text[:160]}")
                    if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
            login(page, base, accounts[role])
            for path in paths:
                problems.clear()
                page.goto(base + path)
                page.wait_for_load_state("networkidle")
                try:
                    page.wait_for_function(IDLE, timeout=60_000)
                except Exception:  # noqa: BLE001 — a page still loading is photographed as it is
                    problems.append("60 秒后仍在加载")
                page.wait_for_timeout(settle)
                target = folder / _file_name(role, path)
                if full_page and role != "screen":
                    # a taller window instead of Playwright's full-page capture, which resizes the canvases of
                    # ECharts to nothing mid-shot (blank maps)
                    tall = page.evaluate("() => document.documentElement.scrollHeight")
                    if tall > height:
                        page.set_viewport_size({"width": width, "height": min(tall, 6000)})
                        page.wait_for_timeout(settle)
                page.screenshot(path=str(target))
                page.set_viewport_size({"width": width, "height": height})
                overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
                words = _suspects(page.inner_text("body"))
                click.echo(f"{target}  ({path})" + (f"  横向溢出 {overflow}px" if overflow > 0 else "")
                           + (f"  可疑文字: {', '.join(words)}" if words else ""))
                for problem in problems:
                    click.echo(f"  {problem}", err=True)
            context.close()
        browser.close()


if __name__ == "__main__":
    main()
