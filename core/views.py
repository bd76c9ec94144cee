from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from .models import Role


@login_required
def home(request):
    """Send each user to the page of their role."""
    user = request.user
    if user.has_role(Role.DISPATCHER):
        return redirect("dispatch-workbench")
    if user.role == Role.DEPARTMENT and user.department_id:
        return redirect("department-inbox")
    if user.role == Role.MEDIATOR:
        return redirect("mediation-files")
    if user.role == Role.SUPERVISOR:
        return redirect("callback-list")
    if user.is_staff:
        return redirect("admin:index")
    return render(request, "home.html")
