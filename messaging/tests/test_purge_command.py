import io
import os
import sys
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from messaging.models import Attachment, Message, Notification, Room
from messaging.services import direct_room_get_or_create, files_upload
from messaging.tests.factories import make_room, png, send
from users.tests.factories import make_user

pytestmark = pytest.mark.django_db


def run(*args: str, stdin: str = "") -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    old_stdin = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        call_command("purge_messages", *args, stdout=out, stderr=err)
    finally:
        sys.stdin = old_stdin
    return out.getvalue(), err.getvalue()


def test_all_with_yes_deletes_everything(user):
    for i in range(3):
        send(user, f"m{i}")

    out, _ = run("--all", "--yes")

    assert Message.objects.count() == 0
    assert "Deleted 3 message(s) in every room" in out


def test_dry_run_deletes_nothing(user):
    send(user, "keep me")

    out, _ = run("--all", "--dry-run")

    assert Message.objects.count() == 1
    assert "would delete 1 message(s)" in out


def test_it_asks_and_a_no_keeps_everything(user):
    send(user, "keep me")

    with pytest.raises(CommandError, match="Cancelled"):
        run("--all", stdin="n\n")
    assert Message.objects.count() == 1


def test_it_asks_and_a_yes_deletes(user):
    send(user, "bye")

    out, _ = run("--all", stdin="y\n")

    assert "Delete 1 message(s) in every room for good? [y/N]" in out
    assert Message.objects.count() == 0


def test_no_answer_on_stdin_deletes_nothing(user):
    send(user, "keep")

    with pytest.raises(CommandError, match="No confirmation"):
        run("--all")
    assert Message.objects.count() == 1


def test_older_than_keeps_recent_messages(user):
    old = send(user, "old")
    Message.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=31))
    send(user, "new")

    run("--older-than", "30d", "--yes")

    assert list(Message.objects.values_list("content", flat=True)) == ["new"]


def test_room_limits_the_purge(user):
    other = make_room(slug="random")
    send(user, "general")
    send(user, "random", room=other)

    out, _ = run("--room", "random", "--yes")

    assert list(Message.objects.values_list("content", flat=True)) == ["general"]
    assert "in #random" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "Say what to delete"),
        (("--room", "nope", "--yes"), "No room with slug"),
        (("--older-than", "soon", "--yes"), "--older-than"),
        (("--older-than", "-3d", "--yes"), "--older-than"),
        (("--all", "--batch-size", "0", "--yes"), "--batch-size"),
    ],
)
def test_bad_arguments_are_clear_errors_and_delete_nothing(user, args, message):
    send(user, "keep")

    with pytest.raises(CommandError, match=message):
        run(*args)
    assert Message.objects.count() == 1


def test_long_runs_show_progress_and_delete_in_batches(user):
    for i in range(25):
        send(user, f"m{i}")

    _, err = run("--all", "--yes", "--batch-size", "10")

    assert Message.objects.count() == 0
    assert "25/25" in err


def test_files_of_purged_messages_and_orphans_are_removed(user, settings, transactional_db):
    attached = files_upload(uploader=user, uploads=[png()])[0]
    send(user, "with file", attachment_ids=[attached.pk])
    never_attached = files_upload(uploader=user, uploads=[png()])[0]
    Attachment.objects.filter(pk=never_attached.pk).update(created_at=timezone.now() - timedelta(days=2))
    stray = settings.MEDIA_ROOT / "attachments" / "2020" / "01" / "stray.bin"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"left behind")
    os.utime(stray, (0, 0))
    paths = [attached.file.path, never_attached.file.path]

    out, _ = run("--all", "--yes")

    assert not any(os.path.exists(path) for path in paths)
    assert not stray.exists()
    assert Attachment.objects.count() == 0
    assert "removed 1 never-attached upload(s) and 1 stray file(s)" in out


def test_sockets_are_told(user, events):
    send(user, "x")
    events.clear()

    run("--all", "--yes")

    assert '{"type":"messages_purged","room":null}' in [e["frame"] for e in events]


def test_a_purge_by_age_tells_only_the_rooms_it_touched(user, events):
    quiet = make_room(slug="quiet")
    old = send(user, "old")
    Message.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    send(user, "recent in quiet", room=quiet)
    events.clear()

    run("--older-than", "30d", "--yes")

    frames = [e["frame"] for e in events if e["group"].startswith("chat.room.") or e["group"] == "chat.everyone"]
    assert frames == ['{"type":"messages_purged","room":"general"}']


def test_each_member_is_told_only_of_the_purged_rooms_they_are_in(user, other_user):
    carol = make_user("carol")
    secret = make_room(kind=Room.Kind.PRIVATE, members=(user, carol))
    lobby = make_room(slug="lobby", members=(other_user, user))
    dm, _ = direct_room_get_or_create(actor=user, other=carol)
    for room in (secret, lobby, dm):
        old = send(user, "old", room=room)
        Message.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))

    run("--older-than", "30d", "--yes")

    purges = Notification.objects.filter(kind=Notification.Kind.MESSAGES_PURGED).select_related("recipient")
    told = {n.recipient.username: sorted(n.data["rooms"]) for n in purges}
    assert told == {
        "alice": sorted([secret.slug, "lobby", dm.slug]),
        "bob": ["lobby"],
        "carol": sorted([secret.slug, dm.slug]),
    }
    assert Notification.objects.get(recipient=other_user, kind="messages_purged").title == "Messages deleted in #lobby"
