"""Each mediator works their own station's files: another station's file is a 404, whatever id is typed."""

import pytest
from django.urls import reverse

from mediation import services


@pytest.fixture
def agreed_file(open_file, med_a):
    file = open_file()
    services.file_triage(actor=med_a.user, file_pk=file.pk, complexity="simple")
    services.file_close(actor=med_a.user, file_pk=file.pk, outcome="agreed", agreement_text="赔偿500元")
    return file


@pytest.mark.parametrize("name", ["mediation-file", "mediation-agreement"])
def test_a_mediator_cannot_open_another_stations_file(client, agreed_file, med_b, name):
    client.force_login(med_b.user)
    assert client.get(reverse(name, args=[agreed_file.pk])).status_code == 404


@pytest.mark.parametrize("name", ["mediation-file-take", "mediation-file-triage", "mediation-file-plan",
                                  "mediation-party-add", "mediation-session-add", "mediation-file-close",
                                  "mediation-file-reopen"])
def test_a_mediator_cannot_act_on_another_stations_file(client, agreed_file, med_b, name):
    client.force_login(med_b.user)
    assert client.post(reverse(name, args=[agreed_file.pk]), {"plan": "x", "reason": "x"}).status_code == 404


def test_a_mediator_cannot_record_another_stations_visit(client, agreed_file, med_b):
    client.force_login(med_b.user)
    visit = agreed_file.follow_ups.first()
    assert client.post(reverse("mediation-visit", args=[visit.pk]), {"result": "x"}).status_code == 404


def test_the_list_shows_only_the_stations_own_files(client, agreed_file, med_b):
    client.force_login(med_b.user)
    assert agreed_file.serial not in client.get(reverse("mediation-files")).content.decode()


def test_a_supervisor_reads_every_file_but_does_not_work_it(client, agreed_file, supervisor):
    client.force_login(supervisor)
    assert client.get(reverse("mediation-file", args=[agreed_file.pk])).status_code == 200
    assert client.get(reverse("mediation-figures")).status_code == 200
    assert client.post(reverse("mediation-file-reopen", args=[agreed_file.pk]), {"reason": "x"}).status_code == 403


@pytest.mark.parametrize("actor", ["dispatcher", "staff_a", "outsider"])
def test_others_do_not_reach_the_files(client, agreed_file, actor, request):
    client.force_login(request.getfixturevalue(actor))
    assert client.get(reverse("mediation-file", args=[agreed_file.pk])).status_code == 403


def test_a_mediator_without_a_station_sees_nothing(client, agreed_file, mediator_without_station):
    client.force_login(mediator_without_station)
    assert client.get(reverse("mediation-file", args=[agreed_file.pk])).status_code == 404


def test_a_mediator_lands_on_the_file_list_with_a_nav_link(client, med_a):
    client.force_login(med_a.user)
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response.url == reverse("mediation-files")
    assert f'href="{reverse("mediation-files")}"' in client.get(response.url).content.decode()


def test_a_mediator_opens_files_only_from_their_stations_calls(client, med_b, dispute_call):
    call = dispute_call()  # attended by station A's patrol
    client.force_login(med_b.user)
    assert client.get(reverse("mediation-file-open"), {"call": call.pk}).status_code == 404


@pytest.fixture
def mediator_without_station(db):
    from core.models import Role
    from tests.factories import UserFactory

    return UserFactory(username="lost_mediator", role=Role.MEDIATOR)
