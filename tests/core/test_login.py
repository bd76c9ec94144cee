import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _login(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_it_locks_a_username_after_repeated_wrong_passwords(client, dispatcher, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = _login(client, "dispatcher", "wrong-password")
    assert response.status_code in (403, 429)
    # Even the right password is refused while the lock lasts.
    response = _login(client, "dispatcher", "pw-for-tests-1")
    assert response.status_code in (403, 429)
    assert "_auth_user_id" not in client.session


def test_it_logs_in_with_the_right_password_and_sends_a_dispatcher_to_the_workbench(client, dispatcher):
    response = _login(client, "dispatcher", "pw-for-tests-1")
    assert response.status_code == 302
    assert client.get(reverse("home")).url == reverse("dispatch-workbench")


def test_a_department_user_lands_on_the_inbox(client, staff_a):
    client.force_login(staff_a)
    assert client.get(reverse("home")).url == reverse("department-inbox")


def test_pages_need_a_login(client):
    response = client.get(reverse("dispatch-workbench"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_chinese_is_the_default_language_and_the_switch_changes_it(client, dispatcher):
    client.force_login(dispatcher)
    assert client.get(reverse("dispatch-workbench"), HTTP_ACCEPT_LANGUAGE="en").headers["Content-Language"] == \
        "zh-hans"
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert client.get(reverse("dispatch-workbench")).headers["Content-Language"] == "en"
