"""The embedded demo's people: one user per role (password DEMO_PASSWORD) and the 110 system's API user with
its DRF token. Each app's demo.py adds its own (departments' staff in diversion.demo)."""

from contextlib import contextmanager
from datetime import datetime
from unittest import mock

from django.contrib.auth.hashers import make_password
from django.utils import timezone
from rest_framework.authtoken.models import Token

from .models import Role, User

DEMO_PASSWORD = "fenliu-demo"


@contextmanager
def clock(at: datetime):
    """Run the services as if it were `at`: they stamp their times with timezone.now(). The demo replays
    weeks of work through the real services on this simulated clock."""
    with mock.patch.object(timezone, "now", return_value=at):
        yield

# (username, role, display name, superuser)
STAFF = [
    ("admin", Role.ADMIN, "系统管理员", True),
    ("dispatcher", Role.DISPATCHER, "刘芳", False),
    ("dispatcher2", Role.DISPATCHER, "陈磊", False),
    ("supervisor", Role.SUPERVISOR, "周建华", False),
    ("mediator", Role.MEDIATOR, "黄秀英", False),
    ("wallboard", Role.WALLBOARD, "指挥中心大屏", False),
]
SYSTEM_USER = "system110"


class UserMaker:
    """Creates a demo user if missing. The demo password is hashed once per run: each hash costs the
    hasher's full work factor."""

    def __init__(self):
        self._password_hash = None

    def __call__(self, username, *, role, name, department=None, unit=None, superuser=False,
                 usable_password=True) -> User:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"role": role, "department": department, "unit": unit, "first_name": name,
                      "is_staff": superuser, "is_superuser": superuser,
                      "email": f"{username}@example.gov.cn" if usable_password else ""},
        )
        if created:
            if usable_password:
                if self._password_hash is None:
                    self._password_hash = make_password(DEMO_PASSWORD)
                user.password = self._password_hash
            else:
                user.set_unusable_password()
            user.save(update_fields=["password"])
        return user


def seed_users(make_user: UserMaker) -> dict[str, User]:
    """Staff for every role and the 110 system user (no password: it calls the API with its token)."""
    users = {username: make_user(username, role=role, name=name, superuser=superuser)
             for username, role, name, superuser in STAFF}
    users[SYSTEM_USER] = make_user(SYSTEM_USER, role=Role.DISPATCHER, name="110接警系统", usable_password=False)
    return users


def seed_token(user: User) -> Token:
    token, _ = Token.objects.get_or_create(user=user)
    return token
