from django.http import HttpRequest, HttpResponse

from vams.api.envelope import NO_CACHE


class ApiCacheControlMiddleware:
    """Mark every API response as not cacheable, errors included.

    The admin, static files and the schema pages keep Django's own headers.
    """

    EXEMPT_PREFIXES = ("/admin", "/static", "/api/docs")

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(self.EXEMPT_PREFIXES):
            response["Cache-Control"] = NO_CACHE
        return response
