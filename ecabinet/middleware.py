"""The project's middleware: the language (Vietnamese first), and the bounds of JSON bodies.

Django's ``LocaleMiddleware`` follows the browser's ``Accept-Language``, so a tablet set up in
English would show English to a minister who never asked for it. Here the language is the one the
person chose with the language switch (the ``django_language`` cookie), otherwise
``LANGUAGE_CODE`` (Vietnamese).
"""

from django.conf import settings
from django.http import JsonResponse
from django.urls import Resolver404, resolve
from django.utils import translation
from django.utils.deprecation import MiddlewareMixin

from ecabinet import jsonguard


def chosen_language(cookies) -> str:
    """The language of a request with these cookies (also used by ``hotpath.intake``)."""
    chosen = cookies.get(settings.LANGUAGE_COOKIE_NAME, "")
    supported = {code for code, _name in settings.LANGUAGES}
    return chosen if chosen in supported else settings.LANGUAGE_CODE


class ChosenLanguageMiddleware(MiddlewareMixin):
    def process_request(self, request) -> None:
        language = chosen_language(request.COOKIES)
        translation.activate(language)
        request.LANGUAGE_CODE = language

    def process_response(self, request, response):
        response.headers.setdefault("Content-Language", translation.get_language())
        return response


class JSONLimitsMiddleware(MiddlewareMixin):
    """A JSON body's depth and number of values (``ecabinet.jsonguard``), checked before any view,
    so before DRF authenticates: a body that could stall the parser is refused with 400 whoever
    sends it. The body itself is already capped (``ecabinet.http_limits``)."""

    def process_request(self, request):
        content_type = (request.content_type or "").lower()
        if content_type != "application/json" and not content_type.endswith("+json"):
            return None
        try:
            try:
                jsonguard.check(request.body)
            except jsonguard.JSONTooManyItems:
                # Only then is the view looked up: a view may accept more values (``view_max_items``).
                larger = _view_max_items(request.path_info)
                if larger is None:
                    raise
                jsonguard.check(request.body, max_items=larger)
        except jsonguard.JSONRefused as refused:
            return JsonResponse({"code": refused.code, "detail": str(refused.message)}, status=400)
        return None


def _view_max_items(path: str) -> int | None:
    try:
        return jsonguard.view_max_items(resolve(path).func)
    except Resolver404:
        return None
