"""Language selection: Vietnamese first.

Django's ``LocaleMiddleware`` follows the browser's ``Accept-Language``, so a tablet set up in
English would show English to a minister who never asked for it. Here the language is the one the
person chose with the language switch (the ``django_language`` cookie), otherwise
``LANGUAGE_CODE`` (Vietnamese).
"""

from django.conf import settings
from django.utils import translation
from django.utils.deprecation import MiddlewareMixin


def chosen_language(cookies) -> str:
    """The language of a request with these cookies (also used by ``voting.intake``)."""
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
