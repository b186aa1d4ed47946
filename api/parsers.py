"""Request body parsers. DRF's JSON parser lets a RecursionError out of `json` for a body
nested deeper than Python's recursion limit (a 500); here it is a parse error (400) like
any other malformed JSON."""
from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply") from None
