"""GraphiQL: files built from pinned npm packages served as recorded, the page offline in Chromium,
production behind a setting."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from gql.http.graphiql import ASSETS_DIR, MANIFEST_PATH, STATIC_PATH, VendoredAssetError, load_vendored_assets
from gql.settings import Settings
from tests.conftest import client_for, settings_with
from tests.factories import make_user, token_for
from tests.live_server import live_server

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
MANIFEST = json.loads(MANIFEST_PATH.read_text())
PAGE_ASSET = re.compile(r"(?:src|href)=\"(/[^\"]+)\"")


@asynccontextmanager
async def http_on(**settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process HTTP client on an app with these settings (the ORM is the session's)."""
    async with client_for(settings_with(**settings)) as client:
        yield client.http


async def page_of(http: httpx.AsyncClient) -> httpx.Response:
    return await http.get("/graphql", headers={"accept": "text/html"})


# -- provenance: what is served is what the pinned packages build to, as the manifest records --------

BUNDLE = Path(__file__).resolve().parent.parent / "scripts" / "graphiql-bundle"
# The page's code and stylesheet, Monaco's web workers (the page's script starts them), the licences.
WORKERS = {"editor.worker.js", "json.worker.js", "graphql.worker.js"}
LICENCES = "THIRD_PARTY_LICENSES.txt"


async def test_page_loads_only_vendored_files(db: str) -> None:
    async with http_on() as http:
        page = await page_of(http)
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    assert not re.search(r"(src|href)=\"(https?:)?//", page.text), "the page must not load anything from another host"
    loaded = PAGE_ASSET.findall(page.text)
    assert loaded == [f"{STATIC_PATH}/{name}" for name in ("graphiql.css", "graphiql.js")]
    # Every file the manifest records is one the page loads, a worker its script starts, or the licences.
    assert {path.removeprefix(f"{STATIC_PATH}/") for path in loaded} | WORKERS | {LICENCES} == set(MANIFEST["files"])
    for worker in WORKERS:
        assert worker.encode() in (ASSETS_DIR / "graphiql.js").read_bytes(), worker
    # No inline script at all: scripts from this origin only, workers too, nothing from another origin.
    csp = dict(directive.strip().split(" ", 1) for directive in page.headers["content-security-policy"].split(";"))
    assert csp["script-src"] == "'self'" and csp["worker-src"] == "'self'" and csp["connect-src"] == "'self'"
    assert csp["default-src"] == "'none'" and "unsafe-eval" not in str(csp) and "blob:" not in str(csp)
    assert "<script>" not in page.text


async def test_every_served_file_is_byte_for_byte_the_recorded_one(db: str) -> None:
    """GET each manifest file from the app: its bytes hash to the sha256 recorded when the pinned
    packages were built; the ETag is that hash, so a browser's revalidation gets 304 without the bytes."""
    async with http_on() as http:
        for name, record in MANIFEST["files"].items():
            response = await http.get(f"{STATIC_PATH}/{name}")
            assert response.status_code == 200, name
            assert hashlib.sha256(response.content).hexdigest() == record["sha256"], name
            assert len(response.content) == record["bytes"], name
            assert response.headers["etag"] == f'"{record["sha256"]}"'
            expected = {".js": "text/javascript", ".css": "text/css"}.get(Path(name).suffix, "text/plain")
            assert response.headers["content-type"] == f"{expected}; charset=utf-8"
            assert response.headers["x-content-type-options"] == "nosniff"
            again = await http.get(f"{STATIC_PATH}/{name}", headers={"if-none-match": response.headers["etag"]})
            assert again.status_code == 304 and again.content == b""
        # Nothing beside the manifest's files: not the manifest itself, not a file of the packages.
        for name in ("manifest.json", "graphiql.js.map", "..%2F..%2Fgraphiql.py", "LICENSE", "package-lock.json"):
            assert (await http.get(f"{STATIC_PATH}/{name}")).status_code == 404, name


def test_manifest_records_each_bundled_package_as_the_lockfile_pins_it() -> None:
    """Each bundled package's version and integrity are the lockfile's (a sha512 SRI string), the
    direct dependencies are exact versions (GraphiQL 5, React 19), every bundled package's licence
    is in the licences file, and the folder holds exactly the recorded files."""
    lock = json.loads((BUNDLE / "package-lock.json").read_text())["packages"]
    direct = json.loads((BUNDLE / "package.json").read_text())["dependencies"]
    for name, record in MANIFEST["packages"].items():
        locked = lock[f"node_modules/{name}"]
        assert (record["version"], record["integrity"]) == (locked["version"], locked["integrity"]), name
        assert re.fullmatch(r"sha512-[A-Za-z0-9+/]{86}==", record["integrity"]), name
    for name, version in direct.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name}: pin an exact version, not {version}"
        assert MANIFEST["packages"][name]["version"] == version, name
    assert MANIFEST["packages"]["graphiql"]["version"].startswith("5.")
    assert MANIFEST["packages"]["react"]["version"].startswith("19.")
    assert MANIFEST["packages"]["react"]["version"] == MANIFEST["packages"]["react-dom"]["version"]
    licences = (ASSETS_DIR / LICENCES).read_text()
    for name, record in MANIFEST["packages"].items():
        if record["role"] == "bundled":
            assert f"{name.rpartition('node_modules/')[2]}@{record['version']} (" in licences, name
    for record in MANIFEST["files"].values():
        assert re.fullmatch(r"[0-9a-f]{64}", record["sha256"])
    assert {path.name for path in ASSETS_DIR.iterdir()} == {*MANIFEST["files"], "manifest.json"}


@pytest.mark.parametrize("damage", ["changed", "missing"])
def test_a_file_that_differs_from_the_manifest_stops_the_server(tmp_path: Path, damage: str) -> None:
    shutil.copytree(ASSETS_DIR, tmp_path, dirs_exist_ok=True)
    target = tmp_path / "graphql.worker.js"
    if damage == "changed":
        target.write_bytes(target.read_bytes().replace(b"graphql", b"grafql", 1))
    else:
        target.unlink()
    with pytest.raises(VendoredAssetError, match="graphql.worker.js.*scripts/vendor_graphiql.py"):
        load_vendored_assets(tmp_path)


# -- production: no IDE unless GRAPHIQL_IN_PRODUCTION, and introspection refused either way ----------

async def test_production_serves_no_ide_by_default(db: str) -> None:
    async with http_on(app_env="production") as http:
        page = await page_of(http)
        assert page.status_code == 406 and "GraphiQL" not in page.text
        for name in MANIFEST["files"]:
            assert (await http.get(f"{STATIC_PATH}/{name}")).status_code == 404, name


async def test_graphiql_in_production_serves_the_ide_and_still_refuses_introspection(db: str) -> None:
    async with http_on(app_env="production", graphiql_in_production="true") as production, http_on() as development:
        page = await page_of(production)
        assert page.status_code == 200 and page.content == (await page_of(development)).content
        assert (await production.get(f"{STATIC_PATH}/graphiql.js")).status_code == 200
        introspection = await production.post("/graphql", json={"query": "{ __schema { queryType { name } } }"})
        assert introspection.status_code == 400 and "introspection has been disabled" in introspection.text


def test_graphiql_in_production_is_read_as_a_boolean() -> None:
    assert Settings.from_env({"GRAPHIQL_IN_PRODUCTION": "on", "APP_ENV": "production"}).graphiql_enabled
    assert not Settings.from_env({"APP_ENV": "production"}).graphiql_enabled
    assert Settings.from_env({}).graphiql_enabled  # development always has it
    with pytest.raises(ValueError, match="GRAPHIQL_IN_PRODUCTION: not a boolean"):
        Settings.from_env({"GRAPHIQL_IN_PRODUCTION": "maybe"})


# -- the page in a real browser --------------------------------------------------------------------

class DevTools:
    """Just enough of the Chrome DevTools Protocol: call a method, evaluate JavaScript, keep events."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        call_id = next(self.ids)
        self.socket.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=30))
            if message.get("id") != call_id:
                self.events.append(message)
            elif "error" in message:
                raise RuntimeError(f"{method}: {message['error']}")
            else:
                return message["result"]

    def run(self, script: str) -> Any:
        """Evaluate `script` (awaiting a promise), return its value; a JS exception fails the test."""
        result = self.call("Runtime.evaluate", expression=script, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise AssertionError(result["exceptionDetails"].get("exception", {}).get("description", result))
        return result["result"].get("value")

    def wait_for(self, condition: str) -> Any:
        """Poll a JS expression until it is truthy (15 s at most) and return its value."""
        return self.run(f"""new Promise((resolve, reject) => {{
            const deadline = Date.now() + 15000;
            (function poll() {{
                let value; try {{ value = ({condition}); }} catch (e) {{}}
                if (value) resolve(value);
                else if (Date.now() > deadline) reject(new Error("timed out waiting for: " + {json.dumps(condition)}
                                                                 + " / page: " + document.body.innerText.slice(0, 300)));
                else setTimeout(poll, 50);
            }})();
        }})""")

    def of(self, method: str) -> list[dict[str, Any]]:
        return [event["params"] for event in self.events if event.get("method") == method]


@contextmanager
def chromium_page() -> Iterator[DevTools]:
    """Headless Chromium with a fresh profile, driven over DevTools: one tab, its events recorded."""
    assert BROWSER is not None
    # Its own process group, so that its helper processes end with it before the profile goes.
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        browser = subprocess.Popen(
            [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
             "--remote-debugging-port=0", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            port_file = Path(profile) / "DevToolsActivePort"  # written once it listens: port, then path
            deadline = time.monotonic() + 30
            while not (port_file.exists() and "\n" in port_file.read_text()):
                assert browser.poll() is None and time.monotonic() < deadline, "chromium did not start"
                time.sleep(0.05)
            port = port_file.read_text().split()[0]
            targets = httpx.get(f"http://127.0.0.1:{port}/json/list").json()
            tab = next(target for target in targets if target["type"] == "page")
            with connect(tab["webSocketDebuggerUrl"], max_size=None) as socket:
                devtools = DevTools(socket)
                for domain in ("Network", "Runtime", "Log", "Page"):
                    devtools.call(f"{domain}.enable")
                yield devtools
        finally:
            os.killpg(browser.pid, signal.SIGTERM)
            browser.wait(timeout=10)


# GraphiQL 5's editors are Monaco: an editor's text is its rendered lines (in order of their
# position; Monaco renders spaces as no-break spaces), and text is typed into its hidden textarea.
QUERY_EDITOR = ".graphiql-query-editor"
HEADERS_EDITOR = ".graphiql-editor-tool .graphiql-editor:nth-of-type(2)"  # variables, then headers
RESULT = ".graphiql-response"
VIEWER_QUERY = "query WhoAmI { viewer { isAuthenticated user { handle } } }"
SUBSCRIPTION = "subscription Watch { issueUpdated(number: 999999) { number } }"


def text_of(editor: str) -> str:
    """A JS expression: the text an editor shows (null until it is mounted)."""
    return (f"(() => {{ const root = document.querySelector({json.dumps(editor)} + ' .view-lines');"
            " return root && [...root.querySelectorAll('.view-line')]"
            ".sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top))"
            ".map(line => line.textContent).join('\\n').replace(/\\u00a0/g, ' '); })()")


def compact_text_of(editor: str) -> str:
    """A JS expression: an editor's text without any whitespace (the result pane wraps long lines,
    which splits them into rendered lines anywhere, inside a JSON string too)."""
    return f"({text_of(editor)} || '').replace(/\\s/g, '')"


def type_into(tab: "DevTools", editor: str, text: str) -> None:
    """Replace an editor's text as a user would: focus it, select all, type (one insertion)."""
    tab.run(f"document.querySelector({json.dumps(editor + ' textarea')}).focus()")
    for kind in ("rawKeyDown", "keyUp"):
        tab.call("Input.dispatchKeyEvent", type=kind, modifiers=2, key="a", code="KeyA",
                 windowsVirtualKeyCode=65, commands=["selectAll"] if kind == "rawKeyDown" else [])
    tab.call("Input.insertText", text=text)
    tab.wait_for(f"{text_of(editor)} === {json.dumps(text)}")


@pytest.mark.slow
@pytest.mark.skipif(BROWSER is None, reason="Browser test skipped: no chromium on this machine (apt-get install chromium)")
async def test_graphiql_in_production_works_offline_in_chromium(db: str, db_url: str) -> None:
    """One browser session on a production server with GRAPHIQL_IN_PRODUCTION: the page loads from
    this server alone under its CSP, shows the schema without introspecting, runs a query signed in
    through the Headers tab, opens the docs explorer, runs a subscription over its WebSocket, and
    keeps its tab (not the token) on reload."""
    user = await make_user("graphiql")
    token = await token_for(user)
    await asyncio.to_thread(drive_graphiql, db_url, user.handle, token)


def drive_graphiql(db_url: str, handle: str, token: str) -> None:
    with live_server(db_url, APP_ENV="production", GRAPHIQL_IN_PRODUCTION="true") as base, chromium_page() as tab:
        tab.call("Page.navigate", url=f"{base}/graphql")
        assert "LandingPage" in tab.wait_for(text_of(QUERY_EDITOR))  # the default query

        # Sign in through the Headers tab (the second editor of the tools pane), run a query.
        tab.run("[...document.querySelectorAll('.graphiql-editor-tools button')]"
                ".find(b => b.textContent === 'Headers').click()")
        tab.wait_for(f"!document.querySelector({json.dumps(HEADERS_EDITOR)}).classList.contains('hidden')")
        type_into(tab, HEADERS_EDITOR, json.dumps({"Authorization": f"Bearer {token}"}))
        type_into(tab, QUERY_EDITOR, VIEWER_QUERY)
        # The tab takes the operation's name once GraphiQL has parsed the edit: run it after that.
        tab.wait_for("document.querySelector('.graphiql-tab-active')?.textContent === 'WhoAmI'")
        tab.run("document.querySelector('.graphiql-execute-button').click()")
        # The result pane shows the answer (its top lines: Monaco renders only the visible ones)...
        shown = json.dumps(f'"handle":"{handle}"')
        tab.wait_for(f"{compact_text_of(RESULT)}.includes({shown})")
        assert '"viewer":{"isAuthenticated":true,' in tab.run(compact_text_of(RESULT))
        # ...which is the server's whole answer, as the browser received it.
        who_am_i = next(event["requestId"] for event in tab.of("Network.requestWillBeSent")
                        if "WhoAmI" in event["request"].get("postData", ""))
        answer = json.loads(tab.call("Network.getResponseBody", requestId=who_am_i)["body"])
        assert answer["data"]["viewer"] == {"isAuthenticated": True, "user": {"handle": handle}}

        # The docs explorer shows the schema from /schema.graphql: the root type and its fields.
        tab.run("document.querySelector('[aria-label=\"Show Documentation Explorer\"]').click()")
        assert "Query" in tab.wait_for("document.querySelector('.graphiql-doc-explorer')?.innerText")
        tab.run("[...document.querySelectorAll('.graphiql-doc-explorer a')].find(a => a.textContent === 'Query').click()")
        assert "ongoingIssues" in tab.wait_for("(() => { const t = document.querySelector('.graphiql-doc-explorer')"
                                               ".innerText; return t.includes('ongoingIssues') && t; })()")

        # A subscription goes over graphql-ws (the CSP lets the page open its WebSocket): an unknown
        # issue ends it with NOT_FOUND, shown in the result pane.
        type_into(tab, QUERY_EDITOR, SUBSCRIPTION)
        tab.wait_for("document.querySelector('.graphiql-tab-active')?.textContent === 'Watch'")
        tab.run("document.querySelector('.graphiql-execute-button').click()")
        assert tab.wait_for(f"{compact_text_of(RESULT)}.includes('NOT_FOUND')")

        # Persisted tabs: GraphiQL writes its tabs to localStorage (debounced), a reload restores
        # them. The token is stored nowhere: not with the tabs (shouldPersistHeaders is off), not
        # in the history (the page's storage drops it), so the restored Headers tab is empty.
        tab.wait_for("(localStorage.getItem('graphiql:tabState') || '').includes('Watch')")
        tab.call("Page.reload")
        assert tab.wait_for(f"{text_of(QUERY_EDITOR)} === {json.dumps(SUBSCRIPTION)}")
        assert tab.wait_for(f"{text_of(HEADERS_EDITOR)} === ''")  # once mounted: empty
        stored = json.loads(tab.run("JSON.stringify(localStorage)"))
        assert "WhoAmI" in stored["graphiql:queries"] and token not in json.dumps(stored)

    requests = [event["request"] for event in tab.of("Network.requestWillBeSent")]
    assert all(request["url"].startswith((f"{base}/", "data:")) for request in requests), "offline: this server only"
    sent = [request for request in requests if request["url"] == f"{base}/graphql" and request["method"] == "POST"]
    assert [json.loads(request["postData"])["operationName"] for request in sent] == ["WhoAmI"]  # no introspection
    assert sent[0]["headers"]["Authorization"] == f"Bearer {token}"
    assert [socket["url"] for socket in tab.of("Network.webSocketCreated")] == [f"ws{base.removeprefix('http')}/graphql"]
    problems = [entry["entry"] for entry in tab.of("Log.entryAdded") if entry["entry"]["level"] == "error"]
    # GraphiQL's fetcher also rejects, unhandled, with the errors that ended the subscription (the
    # NOT_FOUND list the result pane shows): the library's, and no page error; anything else counts.
    problems += [details for thrown in tab.of("Runtime.exceptionThrown") if not (
        (details := thrown["exceptionDetails"])["text"] == "Uncaught (in promise)"
        and details.get("exception", {}).get("className") == "Array")]
    # console.error and console.warn calls of the page, its libraries and its workers count too.
    problems += [call for call in tab.of("Runtime.consoleAPICalled") if call["type"] in ("error", "warning", "assert")]
    assert not problems, json.dumps(problems)[:3000]  # CSP violations are logged as errors too


# The HTTP layer and the page behave the same on every database: checked in one pass.
pytestmark = pytest.mark.only_on("sqlite")
