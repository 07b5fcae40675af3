"""The IDE's Release Manager and Variables panels in Debian's Chromium against a real
``atoll serve``: create a release, promote it to prod, release again, and restore the first
version with its button (once with a compatible database, once past a destructive
migration, restoring the database), prod then serving the first version over the gateway;
set a var and a secret, whose value never comes back, and delete a var.

Screenshots go to ``$ATOLL_TEST_ARTIFACTS/screenshots`` (default ``test-artifacts/``).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Served
from tests.e2e.ide_browser import api, create_app, screenshot, serving, sign_in
from tests.e2e.test_front_door import browser, watched  # noqa: F401 (fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

VERSION = 'def get() -> dict[str, str]:\n    return {"version": "%s"}\n'
PURGE = "DELETE FROM todos WHERE done = 1;\n"  # destructive: an older release may need them
SECRET = "sk-live-51Hq9TOPSECRETvalue"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving(tmp_path_factory.mktemp("ide-releases")) as s:
        yield s


@pytest.fixture
def clients() -> Iterator[list[httpx.Client]]:
    """API clients a test opens (``_api``), closed after it."""
    opened: list[httpx.Client] = []
    yield opened
    for client in opened:
        client.close()


def _api(clients: list[httpx.Client], server: Served, token: str) -> httpx.Client:
    client = api(server, token)
    clients.append(client)
    return client


def _commit(http: httpx.Client, app: str, files: dict[str, str]) -> None:
    """Change files of the app's workspace through the API, as an editor would."""
    head = http.get(f"/apps/{app}").json()["head_revision"]
    changes = [{"path": p, "text": t} for p, t in files.items()]
    r = http.post(f"/apps/{app}/revisions", json={"base": head, "changes": changes})
    assert r.status_code in (200, 201), r.text


def _served(server: Served, tenant: str, app: str, env: str = "prod") -> str:
    """What the environment's ``/api/version`` answers, through the gateway."""
    r = httpx.get(
        f"http://127.0.0.1:{server.gateway_port}/api/version",
        headers={"Host": f"{env}--{app}--{tenant}.localhost:{server.gateway_port}"},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    version: str = r.json()["version"]
    return version


def _dialog_screenshot(page: Page, name: str) -> None:
    """The viewport with a dialog open (a full-page picture would cut its backdrop)."""
    screenshot(page, name, full_page=False)


def _create_release(page: Page, notes: str, version: str) -> None:
    page.get_by_role("button", name="Create release").click()
    form = page.get_by_role("form", name="Create a release")
    form.get_by_label("Notes").fill(notes)
    form.get_by_role("button", name="Build release").click()
    item = page.locator(f"li[data-release='{version}']")
    expect(item.locator(".status")).to_have_text("ready", timeout=120_000)
    expect(item).to_contain_text(notes)


def _promote(page: Page, version: str, env: str) -> None:
    page.locator(f"li[data-release='{version}']").get_by_role(
        "button", name=f"Promote to {env}"
    ).click()
    dialog = page.get_by_role("dialog", name=f"Promote {version} to {env}?")
    dialog.get_by_role("button", name=f"Promote to {env}").click()
    expect(dialog).to_be_hidden(timeout=60_000)
    expect(page.locator(f"li[data-release='{version}'] .rm-runs")).to_contain_text(env)


def test_release_promote_release_again_and_restore_the_first_version(
    server: Served,
    browser: Browser,  # noqa: F811 (the fixture)
    clients: list[httpx.Client],
) -> None:
    token = server.tenant("acme")
    http = _api(clients, server, token)
    create_app(http, "todo", example="todo")
    _commit(http, "todo", {"functions/version.py": VERSION % "first"})
    with watched(browser) as w:
        page = w.page
        sign_in(page, server, token)
        page.goto(server.url + "/#/apps/todo/releases")
        expect(page.get_by_text("No releases yet")).to_be_visible(timeout=30_000)
        screenshot(page, "releases-empty")

        _create_release(page, "The first version", "v1")
        _promote(page, "v1", "prod")
        assert _served(server, "acme", "todo") == "first"

        _commit(http, "todo", {"functions/version.py": VERSION % "second"})
        _create_release(page, "The second version", "v2")
        _promote(page, "v2", "prod")
        assert _served(server, "acme", "todo") == "second"

        # v2 in detail: its build log and what changed since v1.
        v2 = page.locator("li[data-release='v2']")
        v2.get_by_role("button", name="Details").click()
        expect(v2.get_by_label("Build log", exact=True)).to_contain_text("built in")
        expect(v2.get_by_label("Files changed")).to_contain_text("functions/version.py")
        screenshot(page, "releases-details")

        # Restore v1 with its button: prod's database is compatible (no migration since).
        v1 = page.locator("li[data-release='v1']")
        expect(v2.get_by_role("button", name="Restore this version")).to_have_count(0)
        v1.get_by_role("button", name="Restore this version").click()
        dialog = page.get_by_role("dialog", name="Restore v1?")
        expect(dialog.get_by_label("Environment")).to_have_value("prod")
        expect(dialog.locator("[data-compatible='true']")).to_contain_text("compatible")
        _dialog_screenshot(page, "releases-restore-compatible")
        dialog.get_by_role("button", name="Restore v1 in prod").click()
        expect(dialog).to_be_hidden(timeout=60_000)
        expect(page.get_by_role("status").filter(has_text="prod serves v1 again")).to_be_visible()
        assert _served(server, "acme", "todo") == "first"
        history = page.get_by_role("table", name="prod history")
        expect(history.locator("tbody tr").first).to_contain_text("Rollback")
        expect(history.locator("tbody tr").first).to_contain_text("v2 → v1")
        screenshot(page, "releases")

        # v3 runs a destructive migration on prod; restoring v1 then needs its database back.
        _commit(
            http,
            "todo",
            {"functions/version.py": VERSION % "third", "migrations/0002_purge.sql": PURGE},
        )
        _create_release(page, "Purge finished todos", "v3")
        _promote(page, "v3", "prod")
        assert _served(server, "acme", "todo") == "third"
        added = httpx.post(
            f"http://127.0.0.1:{server.gateway_port}/api/todos",
            json={"title": "written after the purge"},
            headers={"Host": f"prod--todo--acme.localhost:{server.gateway_port}"},
        )
        assert added.status_code == 200, added.text

        v1.get_by_role("button", name="Restore this version").click()
        dialog = page.get_by_role("dialog", name="Restore v1?")
        verdict = dialog.locator("[data-compatible='false']")
        expect(verdict).to_contain_text("not compatible")
        expect(verdict).to_contain_text("0002_purge.sql")
        expect(verdict).to_contain_text("the data written in prod since")
        expect(verdict.get_by_role("table")).to_contain_text("todos")
        confirm = dialog.get_by_role("button", name="Restore v1 in prod")
        expect(confirm).to_be_disabled()
        dialog.get_by_role("checkbox").check()
        _dialog_screenshot(page, "releases-restore-blocked")
        confirm.click()
        expect(dialog).to_be_hidden(timeout=60_000)
        expect(page.get_by_text("its database was restored to")).to_be_visible()
        assert _served(server, "acme", "todo") == "first"
        w.assert_clean()
    listed = http.get("/apps/todo/envs/prod").json()
    assert listed["release"] == "v1"
    todos = http.post("/apps/todo/envs/prod/db/exec", json={"sql": "SELECT title FROM todos"})
    assert ["written after the purge"] not in todos.json()["rows"]


def test_variables_and_a_write_only_secret(
    server: Served,
    browser: Browser,  # noqa: F811 (the fixture)
    clients: list[httpx.Client],
) -> None:
    token = server.tenant("globex")
    http = _api(clients, server, token)
    create_app(http, "shop")
    seen: list[str] = []  # every API answer the page got, to look for the secret in
    with watched(browser) as w:
        page = w.page

        def keep(response: object) -> None:
            url = getattr(response, "url", "")
            if "/api/v1/" in url:
                try:
                    seen.append(response.text())  # type: ignore[attr-defined]
                except Exception:  # a body the browser no longer holds (redirects)
                    pass

        page.on("response", keep)
        sign_in(page, server, token)
        page.goto(server.url + "/#/apps/shop/vars/prod")
        expect(page.get_by_text("No variables in prod yet")).to_be_visible(timeout=30_000)
        screenshot(page, "vars-empty")

        form = page.get_by_role("form", name="Add a variable")
        form.get_by_label("Name").fill("path")  # typed upper-case: PATH, which is reserved
        form.get_by_label("Value").fill("/bin")
        form.get_by_role("button", name="Add variable").click()
        expect(form.locator(".rv-field-error")).to_contain_text("PATH is reserved")
        screenshot(page, "vars-field-error")

        form.get_by_label("Name").fill("GREETING")
        form.get_by_label("Value").fill("hello")
        form.get_by_role("button", name="Add variable").click()
        expect(page.locator("tr[data-var='GREETING']")).to_contain_text("hello")

        form.get_by_label("Name").fill("API_KEY")
        form.get_by_label("Value").fill(SECRET)
        form.get_by_role("checkbox", name="Secret").check()
        form.get_by_role("button", name="Set secret").click()
        row = page.locator("tr[data-var='API_KEY']")
        expect(row).to_contain_text("••••••")
        expect(row).to_contain_text("secret")
        expect(form.get_by_label("Value")).to_have_value("")
        history = page.get_by_role("complementary", name="History of prod")
        expect(history).to_contain_text("API_KEY")
        assert SECRET not in page.content()
        screenshot(page, "vars")

        # Changing the plain var, then deleting it.
        page.get_by_role("button", name="Edit GREETING").click()
        edit = page.get_by_role("form", name="Change GREETING")
        expect(edit.get_by_label("Value")).to_have_value("hello")
        edit.get_by_label("Value").fill("hi")
        edit.get_by_role("button", name="Save").click()
        expect(page.locator("tr[data-var='GREETING']")).to_contain_text("hi")
        page.get_by_role("button", name="Delete GREETING").click()
        page.get_by_role("dialog", name="Delete GREETING?").get_by_role(
            "button", name="Delete"
        ).click()
        expect(page.locator("tr[data-var='GREETING']")).to_have_count(0)
        expect(history.locator("li.vars-unset")).to_contain_text("GREETING")

        # Another environment has vars of its own.
        page.get_by_role("link", name="staging", exact=True).click()
        expect(page.get_by_text("No variables in staging yet")).to_be_visible()
        assert SECRET not in page.content()
        w.assert_clean()
    assert seen and not any(SECRET in body for body in seen)
    for path in ("/apps/shop/envs/prod/vars", "/apps/shop/envs/prod/vars/history"):
        answer = http.get(path)
        assert answer.status_code == 200 and SECRET not in answer.text
    keys = {v["key"]: v for v in http.get("/apps/shop/envs/prod/vars").json()["vars"]}
    assert set(keys) == {"API_KEY"} and keys["API_KEY"]["value"] is None


def test_the_panels_at_a_narrow_width_in_dark(
    server: Served,
    browser: Browser,  # noqa: F811 (the fixture)
    clients: list[httpx.Client],
) -> None:
    token = server.tenant("narrow")
    http = _api(clients, server, token)
    create_app(http, "todo", example="todo")
    assert http.post("/apps/todo/releases", json={"notes": "first"}).json()["status"] == "ready"
    assert http.post("/apps/todo/envs/prod/promote", json={"release": "v1"}).status_code == 200
    assert http.post("/apps/todo/releases", json={"notes": "x" * 300}).status_code == 201
    change = {"vars": {"A_RATHER_LONG_VARIABLE_NAME": "a value " * 20}}
    assert http.post("/apps/todo/envs/prod/vars", json=change).status_code == 200
    with watched(browser, width=380, scheme="dark") as w:
        page = w.page
        sign_in(page, server, token)
        page.goto(server.url + "/#/apps/todo/releases")
        expect(page.locator("li[data-release='v2']")).to_be_visible(timeout=30_000)
        expect(page.get_by_role("table", name="prod history")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 380
        screenshot(page, "releases-narrow-dark")
        page.goto(server.url + "/#/apps/todo/vars/prod")
        expect(page.locator("tr[data-var='A_RATHER_LONG_VARIABLE_NAME']")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 380
        screenshot(page, "vars-narrow-dark")
        w.assert_clean()


def test_a_release_that_does_not_build_shows_its_errors_and_notes_stay_text(
    server: Served,
    browser: Browser,  # noqa: F811 (the fixture)
    clients: list[httpx.Client],
) -> None:
    token = server.tenant("initech")
    http = _api(clients, server, token)
    create_app(http, "tps")
    _commit(http, "tps", {"functions/report.py": "def get():\n    return (\n"})
    hostile = '<img src=x onerror="document.title=1">'
    with watched(browser) as w:
        page = w.page
        sign_in(page, server, token)
        page.goto(server.url + "/#/apps/tps/releases")
        page.get_by_role("button", name="Create release").click()
        form = page.get_by_role("form", name="Create a release")
        form.get_by_label("Notes").fill(hostile)
        form.get_by_role("button", name="Build release").click()
        failed = form.get_by_role("alert")
        expect(failed).to_contain_text("v1 did not build", timeout=120_000)
        expect(failed.get_by_role("list", name="Build errors")).to_contain_text(
            "functions/report.py:"
        )
        item = page.locator("li[data-release='v1']")
        expect(item.locator(".status")).to_have_text("failed")
        expect(item.get_by_role("button", name="Promote to prod")).to_have_count(0)
        expect(item).to_contain_text(hostile)  # the notes as text, not markup
        assert page.locator("img[src='x']").count() == 0
        screenshot(page, "releases-failed")
        w.assert_clean()
