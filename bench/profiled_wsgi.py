"""The service (``wsgi:app``) under cProfile, for ``bench/scan_confirm.py --profile FILE``.

Every request is profiled on the thread that serves it (cProfile follows one thread) and the
profiles are added up; when the gunicorn worker exits they are written to ``$BENCH_PROFILE`` as a
pstats file. Read it with ``python -m pstats FILE`` (``sort cumulative``, ``stats 40``) or any
pstats viewer. Profiling slows every request several times over: timings from such a run are not
comparable with normal runs; the profile's proportions are what it is for.
"""

from __future__ import annotations

import atexit
import cProfile
import os
import pstats
import threading
from typing import Any, Callable, Iterable

from wsgi import app as service

_path = os.environ["BENCH_PROFILE"]
_lock = threading.Lock()
_stats: pstats.Stats | None = None


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    global _stats
    profile = cProfile.Profile()
    profile.enable()
    try:
        response = service(environ, start_response)
        try:
            body = list(response)  # the whole response is produced inside the profile
        finally:
            close = getattr(response, "close", None)
            if close is not None:
                close()
    finally:
        profile.disable()
        with _lock:
            if _stats is None:
                _stats = pstats.Stats(profile)
            else:
                _stats.add(profile)
    return body


@atexit.register
def _dump() -> None:
    with _lock:
        if _stats is not None:
            _stats.dump_stats(_path)
