"""durableflows as a user adopts it: the built wheel in a fresh venv and a fresh ``startproject``.

The project gets exactly what ``docs/installation.md`` says (its code blocks are applied
as written, with the broker URL pointed at the test's Redis) on Django's default SQLite
settings, then a real worker on Redis and a real ``runserver``. Proven from outside: 50
workflows started from 20 threads and signalled from 20 threads all complete, with no
"database is locked" anywhere; the admin (changelist, run page, operation forms, an action)
and the API (list, detail, history, schema, docs, browsable pages) answer without a 500.
"""

from __future__ import annotations

import base64
import http.cookiejar
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import redis_reachable
from tests.helpers import service_unavailable, wait_until

REPO = Path(__file__).resolve().parents[2]
INSTALLATION = REPO / "docs" / "installation.md"
PASSWORD = "adopt-pass-1"
RUNS = 50
THREADS = 20

pytestmark = [pytest.mark.integration, pytest.mark.adoption, pytest.mark.timeout(900)]

#: Added to the docs' workflows.py: a workflow that needs a signal, for the concurrent signalling threads.
ORDER_WORKFLOW = '''

from datetime import timedelta


@df.activity()
def reserve(order: int) -> str:
    return f"reservation-{order}"


@df.workflow(name="shop.order")
async def order(order: int) -> dict:
    reservation = await df.execute_activity(reserve, order)
    df.set_var("stage", "awaiting approval")
    decision = await df.wait_signal("approve", timeout=timedelta(minutes=10))
    df.set_var("stage", "approved")
    return {"reservation": reservation, "by": decision["by"]}
'''

#: Run with the fresh venv's Python inside the project: what a user's view, shell or task does.
LOAD_SCRIPT = '''
import json, os, sys, time
from concurrent.futures import ThreadPoolExecutor

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
django.setup()
from django.db import connection

import durableflows as df

runs, threads = int(sys.argv[1]), int(sys.argv[2])


def in_thread(fn):
    def call(*args):
        try:
            return fn(*args)
        finally:
            connection.close()
    return call


began = time.monotonic()
with ThreadPoolExecutor(threads) as pool:
    handles = list(pool.map(in_thread(lambda i: df.start("shop.order", i, id=f"order-{i}")), range(runs)))
started = time.monotonic()
with ThreadPoolExecutor(threads) as pool:
    list(pool.map(in_thread(lambda h: h.signal("approve", {"by": "ops"})), handles))
signalled = time.monotonic()
results = [h.result(timeout=300) for h in handles]
done = time.monotonic()
print(json.dumps({
    "results": results,
    "vars": [h.vars() for h in handles],
    "start_s": round(started - began, 3),
    "signal_s": round(signalled - started, 3),
    "total_s": round(done - began, 3),
}))
'''


def redis_url() -> str:
    url = os.environ.get("CELERY_BROKER_URL", "")
    if not url.startswith("redis://"):
        service_unavailable("the adoption test runs a worker on Redis: set CELERY_BROKER_URL=redis://...")
    if (why := redis_reachable(url)) is not None:
        service_unavailable(f"Redis is not reachable at {url}: {why}")
    return url


def code_blocks(markdown: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", markdown, flags=re.S)


def the_block(blocks: list[str], marker: str) -> str:
    [block] = [b for b in blocks if marker in b]
    return block


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 600) -> str:
    completed = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert completed.returncode == 0, f"{' '.join(args)} failed:\n{completed.stdout}\n{completed.stderr}"
    return completed.stdout


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """A fresh venv holding the wheel built from this checkout, with what its metadata asks for."""
    root = tmp_path_factory.mktemp("adopt")
    dist = root / "dist"
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(REPO)], cwd=root)
    [wheel] = dist.glob("durableflows-*.whl")
    run([sys.executable, "-m", "venv", str(root / "venv")], cwd=root)
    python = root / "venv" / "bin" / "python"
    # the versions this test run uses (Django 5.2 or 6), so the fresh venv is the same stack, from pip's cache
    constraints = root / "constraints.txt"
    frozen = run([sys.executable, "-m", "pip", "freeze", "--exclude-editable"], cwd=root)
    constraints.write_text("\n".join(line for line in frozen.splitlines() if "==" in line) + "\n")
    run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel), "-c", str(constraints)],
        cwd=root)  # fmt: skip
    return root / "venv"


@pytest.fixture(scope="module")
def project(venv: Path) -> Path:
    """``django-admin startproject mysite``, plus the installation page's steps and a ``shop`` app."""
    root = venv.parent / "project"
    root.mkdir()
    bin_dir = venv / "bin"
    run([str(bin_dir / "django-admin"), "startproject", "mysite", "."], cwd=root)
    run([str(bin_dir / "python"), "manage.py", "startapp", "shop"], cwd=root)
    blocks = code_blocks(INSTALLATION.read_text())
    settings = the_block(blocks, "INSTALLED_APPS +=").replace("redis://localhost:6379/0", redis_url())
    with (root / "mysite" / "settings.py").open("a") as file:
        file.write("\n" + settings + 'INSTALLED_APPS += ["shop"]\n')
    (root / "mysite" / "celery.py").write_text(the_block(blocks, "app = Celery("))
    (root / "mysite" / "__init__.py").write_text(the_block(blocks, "from .celery import app as celery_app"))
    (root / "mysite" / "urls.py").write_text(the_block(blocks, "urlpatterns"))
    (root / "shop" / "workflows.py").write_text(the_block(blocks, "# shop/workflows.py") + ORDER_WORKFLOW)
    return root


@pytest.fixture(scope="module")
def processes(project: Path, venv: Path) -> Iterator[dict[str, Any]]:
    """``migrate``, a superuser, then a worker and ``runserver`` as the docs start them; their logs."""
    python = str(venv / "bin" / "python")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "CELERY_"))},
        "PYTHONPATH": "",
        "DJANGO_SUPERUSER_PASSWORD": PASSWORD,
    }
    run([python, "manage.py", "migrate", "--noinput"], cwd=project, env=env)
    run([python, "manage.py", "createsuperuser", "--noinput", "--username", "ops", "--email", "ops@example.com"],
        cwd=project, env=env)  # fmt: skip
    logs = {"worker": project / "worker.log", "server": project / "server.log"}
    port = _free_port()
    commands = {
        "worker": [str(venv / "bin" / "celery"), "-A", "mysite", "worker", "-l", "info", "-c", "2"],
        "server": [python, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
    }
    running = [
        subprocess.Popen(commands[name], cwd=project, env=env, stdout=logs[name].open("w"), stderr=subprocess.STDOUT)
        for name in ("worker", "server")
    ]
    try:
        wait_until(lambda: "ready." in logs["worker"].read_text(), timeout=60, message="the worker to be ready")
        wait_until(lambda: _reachable(port), timeout=60, message="runserver to answer")
        yield {**logs, "url": f"http://127.0.0.1:{port}", "project": project, "python": Path(python), "env": env}
    finally:
        for process in running:
            process.terminate()
        for process in running:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _reachable(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/admin/login/", timeout=2)
        return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


class Browser:
    """A signed-in admin user over real HTTP: cookies, CSRF tokens, no redirects followed silently."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def request(self, path: str, data: dict | None = None, headers: dict | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body, headers=headers or {})
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def csrf(self, html: str) -> str:
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)

    def post_form(self, path: str, data: dict) -> tuple[int, str]:
        status, html = self.request(path)
        assert status == 200, (path, status)
        return self.request(path, {**data, "csrfmiddlewaretoken": self.csrf(html)}, {"Referer": self.base + path})

    def sign_in(self) -> None:
        status, _ = self.post_form("/admin/login/?next=/admin/", {"username": "ops", "password": PASSWORD})
        assert status == 200  # urllib follows the redirect to the admin index
        assert any(cookie.name == "sessionid" for cookie in self.cookies)


def api(base: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    """The REST API as a script calls it: JSON, HTTP Basic as the superuser."""
    token = base64.b64encode(f"ops:{PASSWORD}".encode()).decode()
    headers = {"Authorization": f"Basic {token}", "Accept": "application/json", "Content-Type": "application/json"}
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def test_fifty_workflows_on_default_sqlite_settings_complete_without_a_locked_database(processes):
    output = run(
        [str(processes["python"]), "-c", LOAD_SCRIPT, str(RUNS), str(THREADS)],
        cwd=processes["project"], env=processes["env"], timeout=400,
    )  # fmt: skip
    figures = json.loads(output.strip().splitlines()[-1])
    print(f"\n{RUNS} workflows on default SQLite settings: {figures['start_s']} s to start from {THREADS} threads, "
          f"{figures['signal_s']} s to signal, {figures['total_s']} s until all completed")  # fmt: skip
    assert figures["results"] == [{"reservation": f"reservation-{i}", "by": "ops"} for i in range(RUNS)]
    assert figures["vars"] == [{"stage": "approved"}] * RUNS
    for name in ("worker", "server"):
        log = processes[name].read_text()
        assert "database is locked" not in log, log[-5000:]
        assert "Traceback" not in log, log[-5000:]


def test_the_api_answers_without_the_projects_rest_framework_settings(processes):
    base = processes["url"]
    with ThreadPoolExecutor(10) as pool:
        starts = list(pool.map(
            lambda i: api(base, "/api/workflows/", {"workflow": "shop.hello", "args": [f"api-{i}"], "id": f"api-{i}"}),
            range(10),
        ))  # fmt: skip
    assert [status for status, _ in starts] == [201] * 10
    assert api(base, "/api/workflows/", {"workflow": "shop.hello", "args": []})[0] == 400  # the signature is checked
    status, page = api(base, "/api/workflows/?page_size=5")
    assert status == 200 and page.keys() == {"next", "previous", "results"} and len(page["results"]) == 5
    wait_until(lambda: api(base, "/api/workflows/api-3/")[1]["status"] == "completed", timeout=60)
    assert api(base, "/api/workflows/api-3/")[1]["result"] == "Hello, api-3!"
    status, history = api(base, "/api/workflows/api-3/history/")
    assert status == 200 and history["results"][-1]["type"] == "WorkflowCompleted"
    status, schema = api(base, "/api/schema/?format=json")
    assert status == 200 and "/api/workflows/{workflow_id}/signal/" in schema["paths"]
    assert api(base, "/api/workflow-types/")[0] == 200
    anonymous = urllib.request.Request(base + "/api/workflows/", headers={"Accept": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(anonymous, timeout=10)
    assert refused.value.code == 401 and refused.value.headers["WWW-Authenticate"]
    browser = Browser(base)
    browser.sign_in()
    for path in ("/api/docs/", "/api/workflows/", "/api/workflows/api-3/", "/api/workflows/api-3/history/"):
        status, html = browser.request(path, headers={"Accept": "text/html"})
        assert status == 200, (path, html[-3000:])


def test_the_admin_shows_and_operates_runs(processes):
    base = processes["url"]
    browser = Browser(base)
    browser.sign_in()
    assert api(base, "/api/workflows/", {"workflow": "shop.order", "args": [999], "id": "order-admin"})[0] == 201
    wait_until(lambda: api(base, "/api/workflows/order-admin/")[1]["vars"].get("stage") == "awaiting approval")
    run_id = api(base, "/api/workflows/order-admin/")[1]["run_id"]
    changelist = "/admin/durableflows/workflowrun/"
    for path in (changelist, f"{changelist}?status__exact=running", f"{changelist}{run_id}/change/",
                 f"{changelist}start/", "/admin/durableflows/schedule/"):  # fmt: skip
        status, html = browser.request(path)
        assert status == 200, (path, html[-3000:])
    for operation in ("signal", "query", "cancel", "terminate"):
        status, html = browser.request(f"{changelist}{run_id}/{operation}/")
        assert status == 200, (operation, html[-3000:])
    status, html = browser.post_form(
        f"{changelist}{run_id}/signal/", {"name": "approve", "payload": json.dumps({"by": "admin"})}
    )
    assert status == 200, html[-3000:]
    wait_until(lambda: api(base, "/api/workflows/order-admin/")[1]["status"] == "completed", timeout=60)
    assert api(base, "/api/workflows/order-admin/")[1]["result"] == {"reservation": "reservation-999", "by": "admin"}
    status, html = browser.request(f"{changelist}{run_id}/change/")
    assert status == 200 and "<svg" in html  # the timeline
