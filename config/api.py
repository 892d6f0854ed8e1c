"""API plumbing every app's API shares: the error body and the schema's error answers."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


ERRORS = {
    400: OpenApiResponse(OpenApiTypes.OBJECT, "Refused input: each field names what is wrong with it."),
    401: OpenApiResponse(ErrorSerializer, "No token, or a wrong or revoked one."),
    403: OpenApiResponse(ErrorSerializer, "Your role may not do this."),
    404: OpenApiResponse(ErrorSerializer, "Not found among what you may see."),
    413: OpenApiResponse(ErrorSerializer, "Body or file too large, or the report's file quota used up."),
    415: OpenApiResponse(ErrorSerializer, "Wrong content type for this operation."),
    429: OpenApiResponse(ErrorSerializer, "Too many writes; wait as long as Retry-After says."),
}


def error_responses(*codes: int) -> dict:
    """Describe, for the schema, the error answers an authenticated operation can give."""
    return {code: ERRORS[code] for code in (401, *codes)}
