"""Server-driven UI pages: the schema (pydantic -> JSON Schema), checks, migrations, HTML shell."""

from atoll.sdui.expressions import ExpressionError, parse_expression
from atoll.sdui.html import page_file_for_route, render_page_html, route_for_page
from atoll.sdui.migrations import PageVersionError, migrate_page
from atoll.sdui.page import SCHEMA_VERSION, Page, page_json_schema
from atoll.sdui.validation import (
    PageIssue,
    PageReport,
    check_page,
    parse_page_json,
    validate_page,
)

__all__ = [
    "SCHEMA_VERSION",
    "ExpressionError",
    "Page",
    "PageIssue",
    "PageReport",
    "PageVersionError",
    "check_page",
    "migrate_page",
    "page_file_for_route",
    "page_json_schema",
    "parse_expression",
    "parse_page_json",
    "render_page_html",
    "route_for_page",
    "validate_page",
]
