"""Settings, read from ``WAREHOUSE_*`` environment variables.

Nothing here connects to anything: the database and Redis are opened by ``create_app``.
Every variable is listed in ``SETTINGS`` with its default and meaning, and the README's
configuration table is checked against this list by a test.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping


@dataclass(frozen=True)
class Setting:
    env: str
    key: str
    parse: Callable[[str], Any]
    default: Any
    help: str


def _bool(value: str) -> bool:
    if value.strip().lower() in {"1", "true", "yes", "on"}:
        return True
    if value.strip().lower() in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {value!r}")


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if value.strip().lower() not in allowed:
            raise ValueError(f"not one of {', '.join(allowed)}: {value!r}")
        return value.strip().lower()

    return parse


def _printers(value: str) -> str:
    from hardware.printers import parse_address

    return ",".join(str(parse_address(part)) for part in value.split(",") if part.strip())


SETTINGS: tuple[Setting, ...] = (
    Setting("WAREHOUSE_DATABASE_URL", "DATABASE_URL", str, None,
            "SQLAlchemy URL. Default: SQLite file `instance/warehouse.db`. "
            "PostgreSQL: `postgresql+psycopg://user:pass@host/db`."),
    Setting("WAREHOUSE_REDIS_URL", "REDIS_URL", str, None,
            "Redis URL used as the Socket.IO message queue so several server processes share "
            "live rooms. Unset: in-process only."),
    Setting("WAREHOUSE_REDIS_CHANNEL", "REDIS_CHANNEL", str, "warehouse-live",
            "Redis pub/sub channel for live events. Channels are shared by every database of a Redis "
            "server: give each deployment that shares one its own."),
    Setting("WAREHOUSE_SECRET_KEY", "SECRET_KEY", str, None,
            "Signs enrolment tokens. Default: a random key kept in `instance/secret_key`. "
            "Set it explicitly when running several processes or hosts."),
    Setting("WAREHOUSE_INSTANCE_DIR", "INSTANCE_DIR", str, "instance",
            "Folder for the embedded SQLite database and the generated secret key."),
    Setting("WAREHOUSE_SESSION_HOURS", "SESSION_HOURS", float, 12.0,
            "How long a signed-in browser session lasts (a shift)."),
    Setting("WAREHOUSE_SECURE_COOKIES", "SECURE_COOKIES", _bool, False,
            "Mark the session cookie `Secure`. Turn on whenever the service is served over HTTPS."),
    Setting("WAREHOUSE_LOGIN_MAX_FAILURES", "LOGIN_MAX_FAILURES", int, 5,
            "Consecutive failed sign-ins after which an account is locked."),
    Setting("WAREHOUSE_LOCKOUT_MINUTES", "LOCKOUT_MINUTES", float, 15.0,
            "How long a locked account stays locked."),
    Setting("WAREHOUSE_LOGIN_ADDRESS_LIMIT", "LOGIN_ADDRESS_LIMIT", int, 30,
            "Failed sign-ins allowed from one network address per lockout window before that "
            "address is refused with 429."),
    Setting("WAREHOUSE_MAX_BODY_BYTES", "MAX_BODY_BYTES", int, 1_048_576,
            "Largest request body accepted; larger bodies get 413."),
    Setting("WAREHOUSE_IDEMPOTENCY_HOURS", "IDEMPOTENCY_HOURS", float, 24.0,
            "How long a stored Idempotency-Key response is replayed."),
    Setting("WAREHOUSE_LOG_LEVEL", "LOG_LEVEL", str, "INFO",
            "Python logging level."),
    Setting("WAREHOUSE_WEBHOOK_DISPATCHER", "WEBHOOK_DISPATCHER", _choice("thread", "off"), "thread",
            "`thread`: `warehouse run` sends webhooks from a background thread. `off`: it does not; run "
            "`warehouse webhooks run` as a process of its own (production, several servers)."),
    Setting("WAREHOUSE_WEBHOOK_TIMEOUT_SECONDS", "WEBHOOK_TIMEOUT_SECONDS", float, 10.0,
            "How long a webhook receiver gets to connect and to answer before the attempt counts as failed."),
    Setting("WAREHOUSE_WEBHOOK_RETRY_HOURS", "WEBHOOK_RETRY_HOURS", float, 72.0,
            "How long a webhook delivery is retried (exponential backoff with jitter) before it is marked failed."),
    Setting("WAREHOUSE_WEBHOOK_BACKOFF_SECONDS", "WEBHOOK_BACKOFF_SECONDS", float, 5.0,
            "Delay before the first webhook retry; it doubles with each further attempt (with jitter)."),
    Setting("WAREHOUSE_WEBHOOK_MAX_BACKOFF_SECONDS", "WEBHOOK_MAX_BACKOFF_SECONDS", float, 3600.0,
            "Longest delay between two webhook attempts."),
    Setting("WAREHOUSE_WEBHOOK_POLL_SECONDS", "WEBHOOK_POLL_SECONDS", float, 2.0,
            "How often an idle dispatcher looks for due deliveries (commits in its own process wake it at once)."),
    Setting("WAREHOUSE_WEBHOOK_ROTATION_HOURS", "WEBHOOK_ROTATION_HOURS", float, 24.0,
            "After a webhook secret is rotated, how long the previous secret keeps signing next to the new one."),
    Setting("WAREHOUSE_DECODER", "DECODER", _choice("auto", "zxing-cpp", "pyzbar", "opencv"), "auto",
            "Barcode decoder for camera frames sent to `POST /api/v1/scans/decode`. `auto`: the best available "
            "(zxing-cpp, then pyzbar, then OpenCV); health lists which are available."),
    Setting("WAREHOUSE_LABEL_PRINTER", "LABEL_PRINTER", _printers, None,
            "`host:port` of the ZPL label printer (raw TCP, port 9100 if left out); several comma-separated, "
            "the first is the default. Unset: printing answers 503."),
)


def _default_secret(instance_dir: Path) -> str:
    path = instance_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


def load_settings(environ: Mapping[str, str] | None = None,
                  overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Build the settings dict: defaults, then the environment, then explicit overrides."""
    environ = os.environ if environ is None else environ
    settings: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = environ.get(setting.env)
        if raw is None or raw == "":
            settings[setting.key] = setting.default
        else:
            try:
                settings[setting.key] = setting.parse(raw)
            except ValueError as exc:
                raise SystemExit(f"{setting.env}: {exc}") from exc
    settings.update(overrides or {})
    instance_dir = Path(settings["INSTANCE_DIR"]).resolve()
    settings["INSTANCE_DIR"] = str(instance_dir)
    if not settings["DATABASE_URL"]:
        settings["DATABASE_URL"] = f"sqlite:///{instance_dir / 'warehouse.db'}"
    if not settings["SECRET_KEY"]:
        settings["SECRET_KEY"] = _default_secret(instance_dir)
    return settings


def current_setting(key: str) -> Any:
    """A setting of the running app, or its default outside one (a CLI command, a service called in a test)."""
    from flask import current_app, has_app_context

    if has_app_context() and key in current_app.config:
        return current_app.config[key]
    return next(setting.default for setting in SETTINGS if setting.key == key)
