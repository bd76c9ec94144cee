"""Calls over the API: intake from the 110 system, and one call by id."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from core.roles import CanTakeCalls

from . import services
from .selectors import calls_visible_to
from .serializers import CallIntakeSerializer, CallSerializer


class CallListApi(APIView):
    permission_classes = [CanTakeCalls]

    @extend_schema(
        request=CallIntakeSerializer,
        responses={
            201: CallSerializer,
            200: OpenApiResponse(CallSerializer, description="The same call id was already received."),
            400: OpenApiResponse(description="Invalid input; nothing was written."),
            409: OpenApiResponse(description="The call id was already received with different content."),
        },
    )
    def post(self, request):
        """Register a call. Idempotent on `call_id`: sending the same call again is harmless."""
        serializer = CallIntakeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = services.call_intake(actor=request.user, data=serializer.validated_data)
        body = CallSerializer(result.call, context={"request": request}).data
        if not result.created:
            return Response(body, status=status.HTTP_200_OK)
        location = reverse("api-call-detail", kwargs={"pk": result.call.pk}, request=request)
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": location})


class CallDetailApi(generics.RetrieveAPIView):
    permission_classes = [CanTakeCalls]
    serializer_class = CallSerializer

    def get_queryset(self):
        return calls_visible_to(self.request.user)
