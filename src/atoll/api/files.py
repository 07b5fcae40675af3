"""Workspace files, blobs, revisions (history) and diffs of an app."""

from __future__ import annotations

import binascii
import mimetypes
from base64 import b64decode
from typing import Annotated
from urllib.parse import quote, unquote_to_bytes

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from atoll.api.apps import find_app
from atoll.api.auth import Platform, Principal, TenantCaller
from atoll.api.schemas import (
    BlobOut,
    ChangeIn,
    CommitIn,
    CommitResult,
    DiffEntry,
    DiffOut,
    MissingIn,
    MissingOut,
    RevisionOut,
    RevisionWithFiles,
)
from atoll.errors import BadInput, InvalidPath
from atoll.http_heads import read_body
from atoll.services import ControlPlane
from atoll.store.records import App, Revision
from atoll.workspace import Change

router = APIRouter(tags=["workspace"])

BaseParam = Annotated[
    str,
    Query(description="The revision this write is based on; 409 if the workspace moved."),
]
RevisionParam = Annotated[str | None, Query(description="A revision id or rN; default head.")]


def _app(cp: ControlPlane, who: Principal, name: str) -> App:
    assert who.tenant is not None
    return find_app(cp, who.tenant.id, name)


def _commit_result(rev: Revision, created: bool) -> CommitResult:
    return CommitResult(**RevisionOut.of(rev).model_dump(), created=created)


# Workspace files are tenant content, and the control plane's origin will hold the IDE and
# its session cookie: a file opened there must never run as a page. So it is a download
# (attachment), in a type that renders nothing active, unsniffed, under a policy that gives
# it no origin and no scripts even if a browser showed it anyway.
_DOWNLOAD_POLICY = "sandbox; default-src 'none'; frame-ancestors 'none'"
_INERT_MEDIA = ("image/", "audio/", "video/", "font/")
_TEXT = ("application/javascript", "application/xml", "application/xhtml+xml")


def download_type(path: str) -> str:
    """The content type a workspace file is served with: never one a browser runs."""
    guessed = mimetypes.guess_type(path)[0] or ""
    if guessed.startswith(_INERT_MEDIA) and "svg" not in guessed and "xml" not in guessed:
        return guessed
    if guessed == "application/json":
        return guessed
    if guessed.startswith("text/") or guessed in _TEXT or guessed.endswith("+xml"):
        return "text/plain; charset=utf-8"
    return "application/octet-stream"


def download_headers(path: str) -> dict[str, str]:
    """Headers that keep a served workspace file a download of inert bytes."""
    name = quote(path.rsplit("/", 1)[-1], safe="")  # RFC 8187: no quoting games
    return {
        "Content-Disposition": f"attachment; filename*=UTF-8''{name}",
        "Content-Security-Policy": _DOWNLOAD_POLICY,
        "X-Content-Type-Options": "nosniff",
    }


def _check_raw_path(request: Request) -> None:
    # Servers decode %-escapes leniently (invalid UTF-8 turns into U+FFFD); refuse instead.
    raw = request.scope.get("raw_path")
    if raw:
        try:
            unquote_to_bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidPath("file path is not valid UTF-8") from None


@router.get("/apps/{app}/files")
def list_files(
    app: str, who: TenantCaller, cp: Platform, revision: RevisionParam = None
) -> RevisionWithFiles:
    """The files of a revision (the head by default)."""
    found = _app(cp, who, app)
    return RevisionWithFiles.with_files(cp.workspaces.revision(found, revision))


@router.get("/apps/{app}/files/{path:path}", response_class=Response)
def read_file(
    app: str,
    path: str,
    request: Request,
    who: TenantCaller,
    cp: Platform,
    revision: RevisionParam = None,
) -> Response:
    """A file's raw bytes, as a download; headers carry its SHA-256 and revision."""
    _check_raw_path(request)
    found = _app(cp, who, app)
    data, sha, rev = cp.workspaces.read(found, path, revision)
    headers = {"ETag": f'"{sha}"', "X-Atoll-Revision": rev.id, "X-Atoll-Sha256": sha}
    headers.update(download_headers(path))
    return Response(data, media_type=download_type(path), headers=headers)


@router.put("/apps/{app}/files/{path:path}")
async def write_file(
    app: str,
    path: str,
    request: Request,
    who: TenantCaller,
    cp: Platform,
    base: BaseParam,
    message: Annotated[str, Query(max_length=10_000)] = "",
) -> CommitResult:
    """Write one file (raw body) as a new revision on top of ``base``."""
    _check_raw_path(request)
    found = await run_in_threadpool(_app, cp, who, app)
    data = await read_body(request, cp.settings.limits.max_file_bytes, "max_file_bytes", "a file")

    def work() -> tuple[Revision, bool]:
        sha = cp.workspaces.put_blob(found, data)
        msg = message or f"write {path}"
        return cp.workspaces.commit(found, base, [Change(path, sha)], who.author, msg)

    return _commit_result(*await run_in_threadpool(work))


@router.delete("/apps/{app}/files/{path:path}")
def delete_file(
    app: str,
    path: str,
    request: Request,
    who: TenantCaller,
    cp: Platform,
    base: BaseParam,
    message: Annotated[str, Query(max_length=10_000)] = "",
) -> CommitResult:
    """Delete one file as a new revision on top of ``base``."""
    _check_raw_path(request)
    found = _app(cp, who, app)
    msg = message or f"delete {path}"
    return _commit_result(*cp.workspaces.commit(found, base, [Change(path, None)], who.author, msg))


@router.post("/apps/{app}/blobs", status_code=201)
async def upload_blob(app: str, request: Request, who: TenantCaller, cp: Platform) -> BlobOut:
    """Upload file content (raw body) for a later batch write that names it by SHA-256."""
    found = await run_in_threadpool(_app, cp, who, app)
    data = await read_body(request, cp.settings.limits.max_file_bytes, "max_file_bytes", "a file")
    sha = await run_in_threadpool(cp.workspaces.put_blob, found, data)
    return BlobOut(sha256=sha, size=len(data))


@router.post("/apps/{app}/blobs/missing")
def missing_blobs(app: str, body: MissingIn, who: TenantCaller, cp: Platform) -> MissingOut:
    """Which of these blobs the server does not have yet (so a push uploads only those)."""
    found = _app(cp, who, app)
    return MissingOut(missing=cp.workspaces.missing_blobs(found, body.sha256))


def _content(change: ChangeIn) -> bytes | None:
    given = [
        name
        for name, value in (
            ("text", change.text),
            ("base64", change.base64),
            ("sha256", change.sha256),
        )
        if value is not None
    ]
    if change.delete:
        given.append("delete")
    if len(given) != 1:
        raise BadInput(
            f"change of {change.path!r} must have exactly one of text, base64, sha256, delete",
            path=change.path,
            given=given,
        )
    if change.text is not None:
        return change.text.encode("utf-8", "surrogatepass")
    if change.base64 is not None:
        try:
            return b64decode(change.base64, validate=True)
        except (binascii.Error, ValueError):
            raise BadInput(
                f"base64 content of {change.path!r} is invalid", path=change.path
            ) from None
    return None


@router.post("/apps/{app}/revisions")
def commit(
    app: str, body: CommitIn, who: TenantCaller, cp: Platform, response: Response
) -> CommitResult:
    """Apply many changes as one revision on top of ``base`` (all or nothing)."""
    found = _app(cp, who, app)
    changes: list[Change] = []
    for item in body.changes:
        data = _content(item)
        if data is not None:
            changes.append(Change(item.path, cp.workspaces.put_blob(found, data)))
        else:
            changes.append(Change(item.path, item.sha256))
    rev, created = cp.workspaces.commit(
        found, body.base, changes, who.author, body.message, replace=body.replace
    )
    response.status_code = 201 if created else 200
    return _commit_result(rev, created)


@router.get("/apps/{app}/revisions")
def history(
    app: str,
    who: TenantCaller,
    cp: Platform,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: Annotated[int | None, Query(ge=1, description="Only revisions numbered below.")] = None,
) -> list[RevisionOut]:
    """The workspace history, newest first."""
    found = _app(cp, who, app)
    return [RevisionOut.of(r) for r in cp.workspaces.history(found, limit, before)]


@router.get("/apps/{app}/revisions/{revision}")
def get_revision(app: str, revision: str, who: TenantCaller, cp: Platform) -> RevisionWithFiles:
    """One revision with its files."""
    found = _app(cp, who, app)
    return RevisionWithFiles.with_files(cp.workspaces.revision(found, revision))


@router.get("/apps/{app}/diff")
def diff(
    app: str,
    who: TenantCaller,
    cp: Platform,
    old: Annotated[str, Query(alias="from")],
    new: Annotated[str, Query(alias="to")],
    text: bool = True,
) -> DiffOut:
    """What changed between two revisions, with unified diffs of text files."""
    found = _app(cp, who, app)
    a, b, changes = cp.workspaces.diff(found, old, new, with_text=text)
    return DiffOut(
        old=a.id,
        new=b.id,
        changes=[
            DiffEntry(
                path=c.path,
                status=c.status,
                old_sha256=c.old_sha256,
                new_sha256=c.new_sha256,
                diff=t,
            )
            for c, t in changes
        ],
    )
