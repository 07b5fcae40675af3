"""tests/web/test_browser.py again, against a real ``atoll serve``: its gateway serves the
pages and assets, sandboxed functions answer the data calls, and the app's database keeps
the todos."""

from __future__ import annotations

import pytest

from tests.web.test_browser import *  # noqa: F403

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
