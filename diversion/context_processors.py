from core.models import Role

from .models import ReviewLayer, ReviewStatus, SlipReview
from .selectors import reviews_waiting_for


def reviews(request):
    """The review layers' link in the navigation (issue 40): shown to the centre only while the centre has
    active layers or calls still in review, with how many calls wait for the user's own."""
    user = getattr(request, "user", None)
    if (user is None or not user.is_authenticated or not user.has_role(Role.DISPATCHER, Role.SUPERVISOR)
            or not (ReviewLayer.objects.filter(active=True).exists()
                    or SlipReview.objects.filter(status=ReviewStatus.PENDING).exists())):
        return {}
    return {"reviews_waiting": reviews_waiting_for(user).count()}
