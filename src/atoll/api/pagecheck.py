"""Checking a page file's text as it is typed (the IDE's page diagnostics): the build's
own page checks, against the app's current components, functions and routes."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from atoll.api.apps import find_app
from atoll.api.auth import Platform, TenantCaller
from atoll.builder.page_lint import AppNames, lint_page
from atoll.errors import BadInput, NotFound
from atoll.http_heads import read_body
from atoll.sdui.html import route_for_page

router = APIRouter(tags=["workspace"])

MAX_PAGE_BYTES = 1024 * 1024  # a page is a screen of JSON; this is far past any real one
_PAGE_PATH = re.compile(
    r"^pages/(?:[A-Za-z0-9_-][A-Za-z0-9_.-]*/)*[A-Za-z0-9_-][A-Za-z0-9_.-]*\.json$"
)


class PageIssueOut(BaseModel):
    """One issue: its JSON path, and the line and column (1-based) where it was found."""

    path: str
    message: str
    severity: Literal["error", "warning"]
    line: int | None
    column: int | None


class PageCheckOut(BaseModel):
    """What the build would say about this page text; ``ok`` when it has no errors."""

    ok: bool
    issues: list[PageIssueOut] = Field(description="Errors and warnings, at most a few hundred.")


@router.post("/apps/{app}/pages/check")
async def check_page_text(
    app: str,
    request: Request,
    who: TenantCaller,
    cp: Platform,
    path: Annotated[str, Query(max_length=300, description="The page file, pages/x.json.")],
) -> PageCheckOut:
    """Check a page's JSON (raw body, not saved) as a release build would: the schema,
    expressions, and the components, functions and routes it names."""
    if not _PAGE_PATH.match(path):
        raise BadInput("path must name a page file like pages/index.json", path=path)
    assert who.tenant is not None
    found = await run_in_threadpool(find_app, cp, who.tenant.id, app)
    data = await read_body(request, MAX_PAGE_BYTES, "max_page_bytes", "a page")

    def work() -> PageCheckOut:
        try:
            paths = list(cp.workspaces.revision(found).tree)
        except NotFound:  # an app with no revision yet refers to nothing
            paths = []
        names = AppNames.of_paths(paths)
        issues = lint_page(data, names, route=route_for_page(path))[:300]
        out = [PageIssueOut(**vars(i)) for i in issues]
        return PageCheckOut(ok=not any(i.severity == "error" for i in issues), issues=out)

    return await run_in_threadpool(work)
