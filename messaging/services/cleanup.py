"""Removal of files nothing refers to any more: uploads never attached, and files left without a row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from messaging.models import Attachment
from messaging.services.files import attachment_files_delete_on_commit, delete_stored_files

ATTACHMENTS_DIR = "attachments"
THUMBNAILS_DIR = "thumbnails"


@dataclass(frozen=True)
class Sweep:
    unattached_uploads: int
    stray_files: int


def orphans_sweep(*, unattached_for: timedelta = timedelta(days=1), dry_run: bool = False) -> Sweep:
    """Delete uploads never attached to a message within ``unattached_for`` (with their thumbnails), and
    files under the attachments and thumbnails folders that no Attachment row names (left by a crash
    between write and commit, or by a row deleted in the admin)."""
    stale = Attachment.objects.filter(message__isnull=True, created_at__lt=timezone.now() - unattached_for)
    stale_count = stale.count()
    if not dry_run and stale_count:
        with transaction.atomic():
            attachment_files_delete_on_commit(list(stale))
            stale.delete()
    strays = _stray_files()
    if not dry_run:
        delete_stored_files(strays)
    return Sweep(unattached_uploads=stale_count, stray_files=len(strays))


def _stray_files() -> list[str]:
    root = Path(settings.MEDIA_ROOT)
    on_disk = {
        path.relative_to(root).as_posix()
        for folder in (root / ATTACHMENTS_DIR, root / THUMBNAILS_DIR)
        if folder.is_dir()
        for path in folder.rglob("*")
        if path.is_file()
    }
    if not on_disk:
        return []
    known = set(Attachment.objects.filter(file__in=on_disk).values_list("file", flat=True))
    known |= set(Attachment.objects.filter(thumbnail__in=on_disk).values_list("thumbnail", flat=True))
    # Files written in the last minute may belong to an upload whose transaction is still open.
    recent = timezone.now().timestamp() - 60
    return sorted(name for name in on_disk - known if (root / name).stat().st_mtime < recent)
