"""Views for the HTTP handler's tests (``tests/http/test_pooled_handler.py``), mounted with
``ROOT_URLCONF`` overridden: they touch no database."""

from __future__ import annotations

import threading
import time

from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.urls import path
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt

SEEN: list[dict] = []
STARTED = threading.Event()
RELEASE = threading.Event()


@csrf_exempt
def where(request):
    """Which thread ran the view, the body it read and the language it was given."""
    SEEN.append({"thread": threading.current_thread().name, "n": request.GET.get("n")})
    delay = float(request.GET.get("sleep", 0))
    if delay:
        time.sleep(delay)
    return JsonResponse({"thread": threading.current_thread().name, "body": request.body.decode(),
                         "language": translation.get_language()})


def blocked(request):
    STARTED.set()
    RELEASE.wait(10)
    return HttpResponse("released")


def stream(request):
    parts = int(request.GET.get("parts", 3))
    size = int(request.GET.get("size", 10))
    return StreamingHttpResponse((bytes([65 + i % 26]) * size for i in range(parts)), content_type="text/plain")


def boom(request):
    raise RuntimeError("a bug in a view")


urlpatterns = [
    path("where/", where),
    path("blocked/", blocked),
    path("stream/", stream),
    path("boom/", boom),
]
