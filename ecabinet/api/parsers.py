"""DRF's JSON parser with the bounds of ``ecabinet.jsonguard`` (the default parser of the API).

``ecabinet.middleware.JSONLimitsMiddleware`` already refuses a deep or huge JSON body before the
view runs; the parser checks again because it is the one that calls ``json.loads``, whatever the
middleware list becomes. Every refusal is a ``jsonguard.JSONRefused`` (400 with its code:
``json_too_deep``, ``json_too_many_fields``, ``malformed_request``).
"""

from __future__ import annotations

import json

from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.settings import api_settings
from rest_framework.utils.json import strict_constant

from ecabinet import jsonguard

__all__ = ["JSONParser"]


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        raw = stream.read()
        try:
            text = raw.decode(encoding)
        except (UnicodeDecodeError, LookupError) as error:
            raise jsonguard.MalformedJSON(_("The request body is not valid %(encoding)s: %(error)s")
                                          % {"encoding": encoding, "error": error}) from error
        jsonguard.check(text, max_items=jsonguard.view_max_items((parser_context or {}).get("view")))
        try:
            return json.loads(text, parse_constant=strict_constant if api_settings.STRICT_JSON else None)
        except ValueError as error:
            raise jsonguard.MalformedJSON(_("The request body is not valid JSON: %(error)s") % {"error": error}) \
                from error
