from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("Users and audit")

    def ready(self):
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_delete, post_save
        from rest_framework.authtoken.models import Token

        from . import throttle  # noqa: F401  (connects the failed-login counter by address)
        from .authentication import token_forget

        def forget_token(instance, **_kwargs):
            token_forget(instance.key)

        def forget_users_tokens(instance, **_kwargs):  # deactivated, role or department changed: at once
            token_forget(*Token.objects.filter(user_id=instance.pk).values_list("key", flat=True))

        post_save.connect(forget_token, sender=Token, weak=False, dispatch_uid="token-forget-save")
        post_delete.connect(forget_token, sender=Token, weak=False, dispatch_uid="token-forget-delete")
        post_save.connect(forget_users_tokens, sender=get_user_model(), weak=False, dispatch_uid="token-forget-user")
