"""The password sign-in page for supervisors and admins (the dashboard, the API docs).

The handheld signs operators in on its own screen (scanner_ui), by badge and PIN.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from flask import Blueprint, render_template, request

web = Blueprint("web", __name__)


def safe_next(target: str | None, default: str = "/api/docs") -> str:
    """Only same-site paths, so the sign-in page cannot be used to send people elsewhere."""
    if not target:
        return default
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


@web.get("/signin")
def signin() -> Any:
    return render_template("signin.html", next=safe_next(request.args.get("next")))
