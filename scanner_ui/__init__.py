"""The browser screens: the handheld scanner app at ``/`` and the supervisor dashboard at ``/dashboard``.

Pages are static shells; everything they show comes from the same ``/api/v1`` endpoints and the
``/live`` Socket.IO namespace that other clients use, so the screens hold no business rules.
Front-end packages come from npm through ``package-lock.json`` and are served from this package's
``node_modules`` (``make install`` runs ``npm ci``): warehouse networks are often closed, so no CDN.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, redirect, render_template, send_from_directory, url_for

HERE = Path(__file__).resolve().parent
NODE_MODULES = HERE / "node_modules"

# The only files the browser may fetch from node_modules, by the name pages use for them.
VENDOR_FILES = {
    "socket.io.min.js": "socket.io-client/dist/socket.io.min.js",
    "uPlot.iife.min.js": "uplot/dist/uPlot.iife.min.js",
    "uPlot.min.css": "uplot/dist/uPlot.min.css",
}

# What the dashboard shows (people's pace, the review queue) is for supervisors and admins.
DASHBOARD_PERMISSION = "reports:read"

ui = Blueprint("ui", __name__, template_folder="templates", static_folder="static", static_url_path="/ui/static")


def missing_vendor_files() -> list[str]:
    """Front-end files that `npm ci` has not put in place (reported by health)."""
    return [name for name, path in VENDOR_FILES.items() if not (NODE_MODULES / path).is_file()]


@ui.get("/ui/vendor/<name>")
def vendor(name: str) -> Any:
    path = VENDOR_FILES.get(name)
    if path is None or not (NODE_MODULES / path).is_file():
        abort(404)
    return send_from_directory(NODE_MODULES, path, max_age=86400)


@lru_cache(maxsize=1)
def handheld_shell() -> tuple[str, list[str]]:
    """What a handheld needs to start without network: the page, its scripts, styles and texts, and
    a version that changes whenever one of them does (so devices drop the old copy)."""
    static = HERE / "static"
    files = sorted(path for folder in ("handheld", "common") for path in (static / folder).rglob("*") if path.is_file())
    files += sorted((static / "i18n").glob("handheld.*.json"))
    urls = ["/"] + [f"/ui/static/{path.relative_to(static).as_posix()}" for path in files]
    digest = hashlib.sha256()
    for path in [HERE / "templates" / "handheld.html", HERE / "static" / "handheld" / "sw.js", *files]:
        digest.update(path.read_bytes())
    vendor = "socket.io.min.js"
    if (NODE_MODULES / VENDOR_FILES[vendor]).is_file():
        urls.append(f"/ui/vendor/{vendor}")
    return digest.hexdigest()[:16], urls


@ui.get("/sw.js")
def service_worker() -> Response:
    # Served from the root so that its scope covers the page at "/"; the file list and version are
    # written into it so that a deployment with changed screens replaces what devices hold.
    version, urls = handheld_shell()
    source = (HERE / "static" / "handheld" / "sw.js").read_text(encoding="utf-8")
    body = f"const SHELL_VERSION = {json.dumps(version)};\nconst SHELL_FILES = {json.dumps(urls)};\n{source}"
    response = Response(body, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    return response


@ui.get("/")
def handheld() -> Any:
    # The handheld signs in on its own screen (badge + PIN), so the page itself is public.
    return render_template("handheld.html")


@ui.get("/dashboard")
def dashboard() -> Any:
    from warehouse.api import current_principal

    principal = current_principal()
    if principal is None:
        return redirect(url_for("web.signin", next="/dashboard"))
    # Others get the page that tells them so (and where to go instead), with the status that says it.
    status = 200 if principal.can(DASHBOARD_PERMISSION) else 403
    return render_template("dashboard.html", principal=principal, DASHBOARD_PERMISSION=DASHBOARD_PERMISSION), status
