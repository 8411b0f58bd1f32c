"""JSON error pages in the documented envelope for requests no view handled."""

from django.http import HttpRequest, JsonResponse

from vams.api.envelope import NO_CACHE


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    response = JsonResponse({"message": "Not Found"}, status=404)
    response["Cache-Control"] = NO_CACHE
    return response


def server_error(request: HttpRequest) -> JsonResponse:
    response = JsonResponse({"message": "Internal Server Error"}, status=500)
    response["Cache-Control"] = NO_CACHE
    return response
