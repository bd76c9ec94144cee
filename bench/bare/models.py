from django.db import models


class BareCall(models.Model):
    call_id = models.CharField(max_length=64, unique=True)
    received_at = models.DateTimeField()
    caller_phone = models.CharField(max_length=32)
    caller_name = models.CharField(max_length=64, blank=True, default="")
    address = models.CharField(max_length=200, blank=True, default="")
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)
    content = models.TextField()
    channel = models.CharField(max_length=16, default="phone")
    status = models.CharField(max_length=12, default="new")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "bare"

    def __str__(self):
        return self.call_id
