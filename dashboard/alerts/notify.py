"""Notifications that leave the building: 企业微信 / 钉钉 group-robot webhooks and e-mail over SMTP.

Each send is retried with exponential back-off (``ALERT_NOTIFY_RETRIES`` attempts, first pause
``ALERT_NOTIFY_BACKOFF_S``), and every attempt is written to ``alert_notification``. SMTP settings come from the
environment: ``ALERT_SMTP_HOST``, ``ALERT_SMTP_PORT`` (25), ``ALERT_SMTP_TLS`` (``none`` | ``starttls`` | ``ssl``),
``ALERT_SMTP_USER``, ``ALERT_SMTP_PASSWORD``, ``ALERT_SMTP_FROM``.
"""
from __future__ import annotations

import json
import logging
import os
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from sqlalchemy import select

from dashboard.accounts import clock
from dashboard.alerts.models import AlertChannel, AlertNotification
from dashboard.appdb import session_factory

log = logging.getLogger(__name__)
KINDS = ("wecom", "dingtalk", "email")


class SendError(RuntimeError):
    """One failed attempt (the reason is logged)."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    tls: str = "none"
    user: str = ""
    password: str = ""
    sender: str = "yigongti-alerts@localhost"

    @classmethod
    def from_env(cls) -> SmtpSettings | None:
        host = os.environ.get("ALERT_SMTP_HOST", "")
        if not host:
            return None
        return cls(host=host, port=int(os.environ.get("ALERT_SMTP_PORT", "25")),
                   tls=os.environ.get("ALERT_SMTP_TLS", "none"), user=os.environ.get("ALERT_SMTP_USER", ""),
                   password=os.environ.get("ALERT_SMTP_PASSWORD", ""),
                   sender=os.environ.get("ALERT_SMTP_FROM", "yigongti-alerts@localhost"))


def robot_payload(kind: str, title: str, text: str) -> dict[str, Any]:
    """The JSON body of a group robot: 企业微信 ``markdown.content``; 钉钉 ``markdown.title`` + ``markdown.text``."""
    if kind == "wecom":
        return {"msgtype": "markdown", "markdown": {"content": f"**{title}**\n{text}"}}
    if kind == "dingtalk":
        return {"msgtype": "markdown", "markdown": {"title": title, "text": f"### {title}\n{text}"}}
    raise ValueError(f"未知的机器人类型 {kind!r}")


def _post_json(url: str, body: dict[str, Any], timeout: float = 10.0) -> str:
    req = urllib.request.Request(url, data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
                                 headers={"Content-Type": "application/json; charset=utf-8"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            answer = resp.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError) as exc:
        raise SendError(f"请求失败: {exc}") from exc
    try:
        code = json.loads(answer).get("errcode", 0)
    except (ValueError, AttributeError):
        code = 0
    if code not in (0, "0"):
        raise SendError(f"机器人返回错误: {answer[:200]}")
    return answer[:200]


def _send_mail(settings: SmtpSettings, to: list[str], title: str, text: str, timeout: float = 10.0) -> str:
    msg = EmailMessage()
    msg["Subject"], msg["From"], msg["To"] = title, settings.sender, ", ".join(to)
    msg.set_content(text)
    try:
        if settings.tls == "ssl":
            server: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port, timeout=timeout,
                                                    context=ssl.create_default_context())
        else:
            server = smtplib.SMTP(settings.host, settings.port, timeout=timeout)
        with server:
            if settings.tls == "starttls":
                server.starttls(context=ssl.create_default_context())
            if settings.user:
                server.login(settings.user, settings.password)
            server.send_message(msg)
    except (smtplib.SMTPException, OSError) as exc:
        raise SendError(f"邮件发送失败: {exc}") from exc
    return f"已发送至 {len(to)} 个地址"


def send(app_db_url: str, channel: AlertChannel | dict[str, Any], title: str, text: str,
         alert_id: int | None = None, retries: int | None = None, backoff_s: float | None = None,
         smtp: SmtpSettings | None = None) -> bool:
    """Send one message on one channel, retrying with back-off; every attempt is logged. True when delivered."""
    ch = channel if isinstance(channel, dict) else {"name": channel.name, "kind": channel.kind,
                                                    "target": channel.target}
    retries = retries if retries is not None else int(os.environ.get("ALERT_NOTIFY_RETRIES", "3"))
    backoff_s = backoff_s if backoff_s is not None else float(os.environ.get("ALERT_NOTIFY_BACKOFF_S", "1"))
    for attempt in range(1, max(1, retries) + 1):
        try:
            if ch["kind"] == "email":
                settings = smtp or SmtpSettings.from_env()
                if settings is None:
                    raise SendError("未配置邮件服务器 (ALERT_SMTP_HOST)")
                detail = _send_mail(settings, [a.strip() for a in ch["target"].split(",") if a.strip()],
                                    title, text)
            else:
                detail = _post_json(ch["target"], robot_payload(ch["kind"], title, text))
            ok = True
        except (SendError, ValueError) as exc:
            detail, ok = str(exc), False
        _log_attempt(app_db_url, alert_id, ch, attempt, ok, detail)
        if ok:
            return True
        if attempt < retries:
            time.sleep(backoff_s * 2 ** (attempt - 1))
    log.warning("预警通知发送失败 (%s, %s 次): %s", ch["name"], retries, detail)
    return False


def _log_attempt(app_db_url: str, alert_id: int | None, ch: dict[str, Any], attempt: int, ok: bool,
                 detail: str) -> None:
    with session_factory(app_db_url)() as s, s.begin():
        s.add(AlertNotification(ts=clock.now(), alert_id=alert_id, channel=ch["name"], kind=ch["kind"],
                                attempt=attempt, ok=ok, detail=detail[:1000]))


def channels(app_db_url: str, names: list[str]) -> list[dict[str, Any]]:
    """Enabled channels among ``names``."""
    if not names:
        return []
    with session_factory(app_db_url)() as s:
        rows = s.scalars(select(AlertChannel).where(AlertChannel.name.in_(names),
                                                    AlertChannel.enabled.is_(True)))
        return [{"name": c.name, "kind": c.kind, "target": c.target} for c in rows]
