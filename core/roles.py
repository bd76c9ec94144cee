"""Who may do what. Views and API use these; services check them again."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

from .models import Role


def role_required(*roles):
    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.has_role(*roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def is_administrator(user) -> bool:
    """Staff of the admin site, or a user holding the administrator role (a superuser holds every role)."""
    return bool(getattr(user, "is_authenticated", False) and (user.is_staff or user.has_role(Role.ADMIN)))


def acts_for_unit(user, unit_id: int) -> bool:
    """Dispatchers and supervisors act for any police unit; a unit's own login (issue 37) only for its unit."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.has_role(Role.DISPATCHER, Role.SUPERVISOR):
        return True
    return user.role == Role.UNIT and user.unit_id is not None and user.unit_id == unit_id


def is_unit_login(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active and user.role == Role.UNIT
                and user.unit_id is not None)


def is_department_staff(user) -> bool:
    return (user.is_authenticated and user.is_active and user.role == Role.DEPARTMENT
            and user.department_id is not None)


class HasRole(BasePermission):
    roles: tuple = ()

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.has_role(*self.roles))


class CanTakeCalls(HasRole):
    roles = (Role.DISPATCHER, Role.SUPERVISOR)


class IsSupervisor(HasRole):
    roles = (Role.SUPERVISOR,)


class CanSeeSlips(BasePermission):
    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and (
            user.has_role(Role.DISPATCHER, Role.SUPERVISOR) or is_department_staff(user)))


class IsDepartmentStaff(BasePermission):
    """A department's own work on its slips (accept, return, complete): refused to everyone else before the
    request body is read, so a dispatcher is told 403, not how to fill the form."""

    def has_permission(self, request, view):
        return is_department_staff(request.user)
