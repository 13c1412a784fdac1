"""hello_update, hello_signal and hello_query, as classes, in the toolkit and on real workers."""

from __future__ import annotations

from datetime import timedelta

import durableflows as df
from tests.helpers import wait_until

from . import hello_query, hello_signal, hello_update
from .conftest import TIMEOUT


# -- hello_update ---------------------------------------------------------------------------------
def test_hello_update_in_the_toolkit(durableflows_env):
    handle = durableflows_env.start(hello_update.GreetingWorkflow, id="hello-update")
    durableflows_env.run_until_idle()
    assert handle.status == df.Status.RUNNING
    assert handle.update("update_workflow_status") == "Workflow status updated"
    assert handle.result() == "Hello, World!"
    assert handle.status == df.Status.COMPLETED


def test_hello_update_on_workers(sample_workers):
    handle = df.start(hello_update.GreetingWorkflow, id="hello-update-workers")
    assert handle.update("update_workflow_status", timeout=TIMEOUT) == "Workflow status updated"
    assert handle.result(timeout=TIMEOUT) == "Hello, World!"
    assert handle.status == df.Status.COMPLETED


# -- hello_signal ---------------------------------------------------------------------------------
GREETINGS = ["Hello, user1", "Hello, user2", "Hello, user3"]


def test_hello_signal_in_the_toolkit(durableflows_env):
    handle = durableflows_env.start(hello_signal.GreetingWorkflow, id="hello-signal")
    durableflows_env.run_until_idle()
    for name in ("user1", "user2", "user3"):
        handle.signal("submit_greeting", name)
    handle.signal("exit")
    assert handle.result() == GREETINGS


def test_hello_signal_one_by_one_in_the_toolkit(durableflows_env):
    """Each signal in a workflow task of its own: the queue's waiters are woken across tasks too."""
    handle = durableflows_env.start(hello_signal.GreetingWorkflow, id="hello-signal-apart")
    for name in ("user1", "user2", "user3"):
        handle.signal("submit_greeting", name)
        durableflows_env.run_until_idle()
    handle.signal("exit")
    assert handle.result() == GREETINGS


def test_hello_signal_on_workers(sample_workers):
    handle = df.start(hello_signal.GreetingWorkflow, id="hello-signal-workers")
    for name in ("user1", "user2", "user3"):
        handle.signal("submit_greeting", name)
    handle.signal("exit")
    assert handle.result(timeout=TIMEOUT) == GREETINGS


# -- hello_query ----------------------------------------------------------------------------------
def test_hello_query_in_the_toolkit(durableflows_env):
    handle = durableflows_env.start(hello_query.GreetingWorkflow, "World", id="hello-query")
    assert handle.query("greeting") == "Hello, World!"
    durableflows_env.sleep(timedelta(seconds=3))  # skips the two-second timer
    assert handle.query("greeting") == "Goodbye, World!"
    assert handle.status == df.Status.COMPLETED  # queries answer after the run has completed, too


def test_hello_query_on_workers(sample_workers):
    handle = df.start(hello_query.GreetingWorkflow, "World", id="hello-query-workers")
    assert handle.query("greeting") == "Hello, World!"
    assert handle.result(timeout=TIMEOUT) is None
    assert handle.query("greeting") == "Goodbye, World!"
    wait_until(lambda: handle.status == df.Status.COMPLETED, timeout=TIMEOUT)
