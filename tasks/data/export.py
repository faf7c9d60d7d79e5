"""data.export: one user's data as JSON and CSV files, written atomically, content-addressed.

Files go to AIR_EXPORT_DIR/user-<id>/<digest>/, where <digest> is the SHA-256 of the files: the
export is written into a temporary sibling directory and renamed into place, so a reader never
sees a partial export, and a failed one leaves nothing behind. Exporting unchanged data again
writes byte-identical files with the same digest, so the existing directory is reused and no
new files appear. Every run does record a new export row (running, then done or failed): the
row is the log of a request, which the user may want to see, while the data itself is never
duplicated.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import structlog
from celery import shared_task

from tasks import store
from tasks.data.export_files import FILES, SECTIONS, ExportWriter, row_doc
from tasks.data.settings import DataSettings
from tasks.data.transient import transient_database
from tasks.errors import PermanentError, require_integer

log = structlog.get_logger(__name__)

Progress = Callable[[int, int], None]
DIGEST_CHARS = 24  # 96 bits of the SHA-256 name a directory: no collision among one user's


def _results(rows: list[Any], key: str, value: Callable[[Any], Any]) -> dict[str, Any]:
    return {getattr(row, key): value(row) for row in rows}


def _contact_docs(conn: sa.Connection, rows: list[Any]) -> list[dict[str, Any]]:
    ids = [row.id for row in rows]
    tags = store.tags_by_contact(conn, ids)
    scores = store.scores_by_contact(conn, ids)
    analyses = store.results_by_subject(conn, "contact_analyses", ids)
    messages = store.results_by_subject(conn, "generated_messages", ids)
    docs = []
    for row in rows:
        score = scores.get(row.id)
        doc = row_doc(row, drop=("user_id", "email_normalized", "phone_normalized"))
        doc.update(
            tags=tags.get(row.id, []),
            score=score.score if score else None,
            relationship=row_doc(score, drop=("contact_id", "score")) if score else None,
            analyses=_results(analyses.get(row.id, []), "kind",
                              lambda r: row_doc(r, drop=("contact_id", "kind"))),
            messages=_results(messages.get(row.id, []), "purpose",
                              lambda r: row_doc(r, drop=("id", "contact_id", "purpose"))),
        )
        docs.append(doc)
    return docs


def _interaction_docs(conn: sa.Connection, rows: list[Any]) -> list[dict[str, Any]]:
    analyses = store.results_by_subject(conn, "interaction_analyses", [r.id for r in rows])
    return [
        {**row_doc(row), "analyses": _results(
            analyses.get(row.id, []), "kind",
            lambda r: row_doc(r, drop=("interaction_id", "kind")))}
        for row in rows
    ]


def _meeting_docs(conn: sa.Connection, rows: list[Any]) -> list[dict[str, Any]]:
    briefings = store.results_by_subject(conn, "briefings", [r.id for r in rows])
    return [
        {**row_doc(row, drop=("user_id",)), "briefing": next(
            (row_doc(b, drop=("id", "meeting_id")) for b in briefings.get(row.id, [])), None)}
        for row in rows
    ]


_PAGES: dict[str, tuple[Callable[..., list[Any]], Callable[..., list[dict[str, Any]]]]] = {
    "contacts": (lambda conn, **kw: store.list_contacts(conn, include_merged=True, **kw),
                 _contact_docs),
    "interactions": (store.list_interactions, _interaction_docs),
    "meetings": (store.list_meetings, _meeting_docs),
}


def write_files(
    conn: sa.Connection, directory: Path, *, user_id: int, page_size: int,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Write the user's export into `directory`, reading page by page; returns rows per section.

    `conn` should be a snapshot transaction, so the pages add up to one consistent state.
    """
    user = store.get_user(conn, user_id)
    if user is None:
        raise PermanentError(f"no user {user_id}")
    totals = store.user_data_counts(conn, user_id)
    total, done, written = sum(totals.values()), 0, dict.fromkeys(SECTIONS, 0)
    with ExportWriter(directory, row_doc(user)) as writer:
        for section in SECTIONS:
            writer.section(section)
            list_page, to_docs = _PAGES[section]
            after_id = 0
            while rows := list_page(conn, user_id=user_id, after_id=after_id, limit=page_size):
                for doc in to_docs(conn, rows):
                    writer.add(doc)
                after_id, done = rows[-1].id, done + len(rows)
                written[section] += len(rows)
                if progress is not None:
                    progress(done, max(total, done))
    return written


def content_digest(directory: Path) -> str:
    """SHA-256 over the export's file names and contents, in a fixed order."""
    digest = hashlib.sha256()
    for name in FILES:
        digest.update(name.encode() + b"\0")
        with open(directory / name, "rb") as handle:
            digest.update(hashlib.file_digest(handle, "sha256").digest())
    return digest.hexdigest()


def export_user(
    *, user_id: int, root: Path, page_size: int, progress: Progress | None = None
) -> tuple[Path, dict[str, int]]:
    """Write the user's export under `root` atomically; returns its directory and row counts.

    Nothing but the final directory is ever visible: on any failure the temporary directory
    is removed.
    """
    user_dir = root / f"user-{user_id}"
    user_dir.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=user_dir))
    try:
        with store.transaction(snapshot=True) as conn:
            counts = write_files(conn, temp, user_id=user_id, page_size=page_size,
                                 progress=progress)
        final = user_dir / content_digest(temp)[:DIGEST_CHARS]
        if not final.is_dir():
            try:
                os.rename(temp, final)  # atomic: the directory appears complete or not at all
            except OSError:
                if not final.is_dir():  # not a concurrent export of the same data: a failure
                    raise
        shutil.rmtree(temp, ignore_errors=True)  # left over when the export existed already
        return final, counts
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise


def run_export(
    *, user_id: int, settings: DataSettings, progress: Progress | None = None
) -> dict[str, Any]:
    """Record, write and finish one export; a failure is recorded on the export row."""
    with transient_database():
        with store.transaction() as conn:
            if store.get_user(conn, user_id) is None:
                raise PermanentError(f"no user {user_id}")
            export_id = store.start_export(conn, user_id=user_id)
        log.info("export_started", export_id=export_id, user_id=user_id)
        try:
            directory, counts = export_user(user_id=user_id, root=settings.export_dir,
                                            page_size=settings.export_page_size,
                                            progress=progress)
        except Exception as exc:
            _record_failure(export_id, exc)
            raise
        paths = [str(directory / name) for name in FILES]
        with store.transaction() as conn:
            store.finish_export(conn, export_id, paths=paths)
    log.info("export_done", export_id=export_id, directory=str(directory), **counts)
    return {"export_id": export_id, "user_id": user_id, "directory": str(directory),
            "paths": paths, "rows": counts}


def _record_failure(export_id: int, exc: Exception) -> None:
    log.error("export_failed", export_id=export_id, error=repr(exc))
    try:
        with store.transaction() as conn:
            store.fail_export(conn, export_id, error=f"{type(exc).__name__}: {exc}"[:2000])
    except Exception as again:  # the database went away: the original error matters more
        log.error("export_failure_not_recorded", export_id=export_id, error=repr(again))


@shared_task(name="data.export", bind=True)
def export(self: Any, user_id: int) -> dict[str, Any]:
    """Export one user's data; returns {export_id, user_id, directory, paths, rows}."""
    require_integer("user_id", user_id)
    return run_export(user_id=user_id, settings=DataSettings.from_env(), progress=self.progress)
