from rest_framework import generics, serializers

from .models import BareCall


class BareCallSerializer(serializers.ModelSerializer):
    class Meta:
        model = BareCall
        fields = ["id", "call_id", "received_at", "caller_phone", "caller_name", "address", "lat", "lon", "content",
                  "channel", "status", "created_at"]
        read_only_fields = ["id", "status", "created_at"]


class BareCallCreate(generics.CreateAPIView):
    """The project's authentication, permission and throttle defaults, as the intake endpoint has them."""

    serializer_class = BareCallSerializer
