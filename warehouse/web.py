"""Browser pages of the service itself: sign-in (for the docs and, later, the dashboard)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from flask import Blueprint, redirect, render_template, request, url_for

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


@web.get("/")
def home() -> Any:
    from warehouse.api import current_principal

    if current_principal() is None:
        return redirect(url_for("web.signin", next="/"))
    return redirect(url_for("docs.docs_page"))
