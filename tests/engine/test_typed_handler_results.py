"""Update results and query answers of class workflows come back as the handler's return type.

Temporal's typed ``execute_update``/``query`` return the method's declared type; so do
``handle.update``, ``UpdateHandle.result`` and ``handle.query`` for the methods of a workflow class.
"""

from __future__ import annotations

import durableflows as df

from .typed_workflows import Allocation, Allocator


def test_an_update_result_is_rebuilt_from_the_handler_return_hint(durableflows_env):
    handle = durableflows_env.start(Allocator, id="allocator")
    assert handle.update("allocate", "a", 2) == Allocation("a", {"n0", "n1"})
    update = handle.start_update("allocate", "b", 1)
    assert update.result() == Allocation("b", {"n0"})
    rebuilt = df.UpdateHandle("allocator", update.update_id, handle.run_id)  # anywhere, from its ids
    assert rebuilt.result(timeout=5) == Allocation("b", {"n0"})
    assert handle.update("finish") is None
    assert handle.result() == 2


def test_a_query_answer_is_rebuilt_from_the_handler_return_hint(durableflows_env):
    handle = durableflows_env.start(Allocator, id="allocator-query")
    assert handle.query("latest") is None
    handle.update("allocate", "a", 1)
    assert handle.query("latest") == Allocation("a", {"n0"})
