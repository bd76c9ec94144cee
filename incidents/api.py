"""Calls over the API: intake from the 110 system, one call by id, and the decision on a call."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from core.roles import CanTakeCalls, IsSupervisor

from . import services
from .selectors import calls_visible_to
from .serializers import (
    CallClassifySerializer,
    CallDecisionSerializer,
    CallIntakeSerializer,
    CallSerializer,
)

_NOT_FOUND = OpenApiResponse(description="No such call for this user.")


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


class CallClassifyApi(APIView):
    permission_classes = [CanTakeCalls]

    @extend_schema(
        request=CallClassifySerializer,
        responses={
            200: OpenApiResponse(CallDecisionSerializer, description=(
                "Decided: the call with its slip or police assignment. `already_classified` true: the same "
                "client already decided on this version (a retry); nothing more was done.")),
            400: OpenApiResponse(description="Invalid input, or a police call diverted without "
                                             "`override_reason`; nothing was written."),
            404: _NOT_FOUND,
            409: OpenApiResponse(description="`stale`: the call changed since `version` (someone else decided, "
                                             "a slip came back); `already_handled`: it is not waiting for a "
                                             "decision; `claimed`: another dispatcher is working on it. Nothing "
                                             "was written: GET the call and decide again."),
        },
    )
    def post(self, request, pk):
        """Decide a call: keep it with the police and send a unit, or divert it to a department on a slip.
        Compares and sets on `version`: a decision on a call that changed meanwhile is refused (409)."""
        call = get_object_or_404(calls_visible_to(request.user), pk=pk)
        serializer = CallClassifySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        decision = services.call_classify(actor=request.user, call_pk=call.pk, **serializer.validated_data)
        return Response(CallDecisionSerializer(decision, context={"request": request}).data)


class CallClaimApi(APIView):
    permission_classes = [CanTakeCalls]
    take_over = False

    @extend_schema(
        request=None,
        responses={
            200: CallSerializer,
            404: _NOT_FOUND,
            409: OpenApiResponse(description="`claimed`: another dispatcher is working on it; `already_handled`: "
                                             "it is not waiting for a decision. Nothing was changed."),
        },
    )
    def post(self, request, pk):
        """Claim a waiting call: other dispatchers see who has it and cannot decide it until the claim is
        released or lapses (CALL_CLAIM_IDLE_SECONDS without activity). Claiming it again keeps it fresh."""
        call = get_object_or_404(calls_visible_to(request.user), pk=pk)
        call = services.call_claim(actor=request.user, call_pk=call.pk, take_over=self.take_over)
        return Response(CallSerializer(call, context={"request": request}).data)


class CallTakeOverApi(CallClaimApi):
    permission_classes = [IsSupervisor]
    take_over = True

    @extend_schema(
        request=None,
        responses={
            200: CallSerializer,
            404: _NOT_FOUND,
            409: OpenApiResponse(description="`already_handled`: it is not waiting for a decision; nothing was "
                                             "changed."),
        },
    )
    def post(self, request, pk):
        """A supervisor takes a waiting call over from the dispatcher holding it (audited with whom from)."""
        return super().post(request, pk)


class CallReleaseApi(APIView):
    permission_classes = [CanTakeCalls]

    @extend_schema(
        request=None,
        responses={
            200: CallSerializer,
            404: _NOT_FOUND,
            409: OpenApiResponse(description="`claimed`: the call is held by someone else; nothing was released."),
        },
    )
    def post(self, request, pk):
        """Release a call you hold. Releasing a call nobody holds does nothing."""
        call = get_object_or_404(calls_visible_to(request.user), pk=pk)
        call = services.call_release(actor=request.user, call_pk=call.pk)
        return Response(CallSerializer(call, context={"request": request}).data)
