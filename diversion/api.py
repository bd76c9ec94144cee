"""Slips over the API. Each action fetches the slip through the user's scope (404 outside it, whatever
id was typed), parses its input and calls the one service that makes the change."""

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.pagination import KeysetPagination
from core.roles import CanSeeSlips, CanTakeCalls, IsDepartmentStaff

from . import services
from .models import Callback, HandoffSlip, SlipReview, SlipStatus
from .selectors import reviews_waiting_for, slip_get_for_user, slips_visible_to
from .serializers import (
    CallbackCreatedSerializer,
    CallbackRecordSerializer,
    ReviewDecisionSerializer,
    ReviewSerializer,
    SlipAcceptSerializer,
    SlipCompleteSerializer,
    SlipReturnSerializer,
    SlipSerializer,
)

_ACTION_ERRORS = {
    400: OpenApiResponse(description="Invalid input, or refused by a rule of the domain."),
    403: OpenApiResponse(description="Not allowed for this user's role."),
    404: OpenApiResponse(description="No such slip in this user's scope."),
    409: OpenApiResponse(description="The slip is not in a state that allows this."),
}


class SlipPagination(KeysetPagination):
    # Newest issued first; the id breaks ties between slips issued in the same instant, so pages never overlap.
    ordering = ("-issued_at", "-id")


@extend_schema_view(list=extend_schema(parameters=[OpenApiParameter(
    "status", enum=[*SlipStatus.values, ""],
    description="Only slips in this status; empty or left out: every status.")]))
class SlipViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [CanSeeSlips]
    serializer_class = SlipSerializer
    pagination_class = SlipPagination
    filterset_fields = ["status"]
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return (
            # Joined: what every slip has; the rest fetched per page (mostly none), so the query stays a
            # four-table join that plans in a fraction of the time seven took (issue 42).
            slips_visible_to(self.request.user)
            .select_related(None).select_related("call", "category", "department")
            .prefetch_related("accepted_by", "suggested_department",
                              Prefetch("callbacks", queryset=Callback.objects.select_related("recorded_by")))
            .order_by("-issued_at", "-id")
        )

    def get_object(self) -> HandoffSlip:
        slip = slip_get_for_user(self.request.user, self.kwargs[self.lookup_field])
        self.check_object_permissions(self.request, slip)
        return slip

    def _slip_response(self, slip_pk: int, status_code: int = status.HTTP_200_OK) -> Response:
        # Read again after the change, with everything the representation needs in a fixed few queries.
        slip = self.get_queryset().get(pk=slip_pk)
        return Response(self.get_serializer(slip).data, status=status_code)

    def retrieve(self, request, *args, **kwargs):
        return self._slip_response(self.get_object().pk)

    def _input(self, serializer_class) -> dict:
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    @extend_schema(request=SlipAcceptSerializer, responses={200: SlipSerializer, **_ACTION_ERRORS})
    @action(detail=True, methods=["post"], permission_classes=[IsDepartmentStaff])
    def accept(self, request, pk=None):
        slip = self.get_object()
        data = self._input(SlipAcceptSerializer)
        services.slip_accept(actor=request.user, slip_pk=slip.pk, handler_name=data["handler_name"])
        return self._slip_response(slip.pk)

    @extend_schema(request=SlipReturnSerializer, responses={200: SlipSerializer, **_ACTION_ERRORS})
    @action(detail=True, methods=["post"], url_path="return", url_name="return",
            permission_classes=[IsDepartmentStaff])
    def return_(self, request, pk=None):
        slip = self.get_object()
        data = self._input(SlipReturnSerializer)
        services.slip_return(actor=request.user, slip_pk=slip.pk, reason=data["reason"],
                             suggested_department=data["suggested_department"])
        return self._slip_response(slip.pk)

    @extend_schema(request=SlipCompleteSerializer, responses={200: SlipSerializer, **_ACTION_ERRORS})
    @action(detail=True, methods=["post"], permission_classes=[IsDepartmentStaff])
    def complete(self, request, pk=None):
        slip = self.get_object()
        data = self._input(SlipCompleteSerializer)
        services.slip_complete(actor=request.user, slip_pk=slip.pk, result=data["result"],
                               handler_name=data["handler_name"])
        return self._slip_response(slip.pk)

    @extend_schema(request=CallbackRecordSerializer,
                   responses={201: CallbackCreatedSerializer, **_ACTION_ERRORS})
    # Callbacks are the centre's work: department staff are refused here, before any slip is looked up.
    @action(detail=True, methods=["post"], permission_classes=[CanTakeCalls])
    def callbacks(self, request, pk=None):
        slip = self.get_object()
        data = self._input(CallbackRecordSerializer)
        callback = services.callback_record(actor=request.user, slip_pk=slip.pk, **data)
        return Response(CallbackCreatedSerializer(callback).data, status=status.HTTP_201_CREATED)


class ReviewViewSet(viewsets.ReadOnlyModelViewSet):
    """Reviews before a slip leaves (issue 40), for the command centre. The list holds the reviews waiting for
    the user's own layers, the one due first on top; any review can be read by its id."""

    permission_classes = [CanTakeCalls]
    serializer_class = ReviewSerializer
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        reviews = (SlipReview.objects.select_related("call", "category", "department", "slip")
                   .prefetch_related("steps__layer").order_by("requested_at", "id"))
        if self.action == "list" and not getattr(self, "swagger_fake_view", False):  # the schema has no user
            reviews = reviews.filter(pk__in=reviews_waiting_for(self.request.user).values("review"))
        return reviews

    @extend_schema(request=ReviewDecisionSerializer, responses={
        200: ReviewSerializer,
        400: OpenApiResponse(description="No decision, a send-back without a reason, or a four-eyes rule (the "
                                         "diverting dispatcher, one person one layer); nothing was written."),
        403: OpenApiResponse(description="The user decides none of this review's layers."),
        404: OpenApiResponse(description="No such review."),
        409: OpenApiResponse(description="`not_your_turn`: an earlier layer has not decided; `layer_decided`; "
                                         "`review_over`: approved or sent back already."),
    })
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        """One layer's decision: approve (the last approval issues the slip) or send back with a reason."""
        review = self.get_object()
        serializer = ReviewDecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        services.review_decide(actor=request.user, review_pk=review.pk, approve=data["decision"] == "approve",
                               reason=data["reason"])
        return Response(self.get_serializer(self.get_queryset().get(pk=review.pk)).data)
