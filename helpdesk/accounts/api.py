"""Token endpoint: staff exchange a username and password for an API token (django-rest-knox)."""

from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema, inline_serializer
from knox.models import AuthToken
from rest_framework import exceptions, permissions, serializers
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from helpdesk.accounts import throttle
from helpdesk.api import StrictJson


class TokenRequestSerializer(StrictJson, serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})

    def validate(self, attrs):
        user = authenticate(self.context["request"], username=attrs["username"], password=attrs["password"])
        # Same answer for a wrong password and a non-staff account: neither may use the API.
        if user is None or not user.is_staff:
            # 401, not 400: the request is well formed (the schema says so), the credentials are not.
            raise exceptions.AuthenticationFailed("Unable to log in with these credentials.")
        attrs["user"] = user
        return attrs


class ObtainTokenApi(APIView):
    # Credentials are the authentication here; no session means no CSRF for API clients.
    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    # JSON, or a plain form post (curl -d username=…): the API's other operations take JSON only.
    parser_classes = [JSONParser, FormParser, MultiPartParser]
    serializer_class = TokenRequestSerializer

    def get_authenticate_header(self, request) -> str:
        # The 401 for wrong credentials carries the challenge, as RFC 9110 asks.
        return "Token"

    @extend_schema(
        request=TokenRequestSerializer,
        responses={
            200: inline_serializer(
                "TokenResponse",
                fields={"token": serializers.CharField(), "expiry": serializers.DateTimeField()},
            )
        },
        auth=[],
        summary="Exchange a staff username and password for an API token",
    )
    def post(self, request):
        # Too many failed sign-ins for this username or from this address (helpdesk.accounts.throttle).
        username = request.data.get("username") if isinstance(request.data, dict) else None
        wait = throttle.retry_after(username if isinstance(username, str) else "", request)
        if wait:
            raise exceptions.Throttled(wait=wait)
        data = TokenRequestSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        # A new token per sign-in, kept only as a hash; earlier ones run out on their own.
        instance, token = AuthToken.objects.create(user=data.validated_data["user"])
        return Response({"token": token, "expiry": instance.expiry})
