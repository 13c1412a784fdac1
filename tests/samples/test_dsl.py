"""dsl: the statement tree (a Union of dataclasses) is rebuilt from JSON and interpreted, branches in parallel."""

from __future__ import annotations

from typing import Any

import durableflows as df

from .conftest import TIMEOUT
from .dsl import (
    ActivityInvocation,
    ActivityStatement,
    DSLInput,
    DSLWorkflow,
    Parallel,
    ParallelStatement,
    Sequence,
    SequenceStatement,
)


def call(name: str, *arguments: str, result: str) -> ActivityStatement:
    return ActivityStatement(ActivityInvocation(name, list(arguments), result))


#: Temporal's workflow2.yaml: a step, two sequences in parallel, a step joining their results.
WORKFLOW2 = DSLInput(
    root=SequenceStatement(
        Sequence(
            [
                call("activity1", "arg1", result="result1"),
                ParallelStatement(
                    Parallel(
                        [
                            SequenceStatement(
                                Sequence(
                                    [
                                        call("activity2", "result1", result="result2"),
                                        call("activity3", "arg2", "result2", result="result3"),
                                    ]
                                )
                            ),
                            SequenceStatement(
                                Sequence(
                                    [
                                        call("activity4", "result1", result="result4"),
                                        call("activity5", "arg3", "result4", result="result5"),
                                    ]
                                )
                            ),
                        ]
                    )
                ),
                call("activity3", "result3", "result5", result="result6"),
            ]
        )
    ),
    variables={"arg1": "value1", "arg2": "value2", "arg3": "value3"},
)

#: The same program as the YAML file reads, as plain JSON: what an API client or a fixture file would send.
WORKFLOW2_AS_JSON: dict[str, Any] = {
    "variables": {"arg1": "value1", "arg2": "value2", "arg3": "value3"},
    "root": {
        "sequence": {
            "elements": [
                {"activity": {"name": "activity1", "arguments": ["arg1"], "result": "result1"}},
                {
                    "parallel": {
                        "branches": [
                            {
                                "sequence": {
                                    "elements": [
                                        {
                                            "activity": {
                                                "name": "activity2",
                                                "arguments": ["result1"],
                                                "result": "result2",
                                            }
                                        },
                                        {
                                            "activity": {
                                                "name": "activity3",
                                                "arguments": ["arg2", "result2"],
                                                "result": "result3",
                                            }
                                        },
                                    ]
                                }
                            },
                            {
                                "sequence": {
                                    "elements": [
                                        {
                                            "activity": {
                                                "name": "activity4",
                                                "arguments": ["result1"],
                                                "result": "result4",
                                            }
                                        },
                                        {
                                            "activity": {
                                                "name": "activity5",
                                                "arguments": ["arg3", "result4"],
                                                "result": "result5",
                                            }
                                        },
                                    ]
                                }
                            },
                        ]
                    }
                },
                {"activity": {"name": "activity3", "arguments": ["result3", "result5"], "result": "result6"}},
            ]
        }
    },
}

R1 = "[activity1 of value1]"
R3 = f"[activity3 of value2 and [activity2 of {R1}]]"
R5 = f"[activity5 of value3 and [activity4 of {R1}]]"
EXPECTED = {
    "arg1": "value1",
    "arg2": "value2",
    "arg3": "value3",
    "result1": R1,
    "result2": f"[activity2 of {R1}]",
    "result3": R3,
    "result4": f"[activity4 of {R1}]",
    "result5": R5,
    "result6": f"[activity3 of {R3} and {R5}]",
}


def assert_branches_ran_in_parallel(handle: df.WorkflowHandle) -> None:
    """activity2 and activity4 were both scheduled before either completed."""
    events = [(str(e.type), e.data.get("name")) for e in handle.history() if str(e.type).startswith("Activity")]
    scheduled = [name for kind, name in events if kind == "ActivityScheduled"]
    assert scheduled[1:3] == ["activity2", "activity4"]
    first_after = [kind for kind, _ in events if kind in ("ActivityScheduled", "ActivityCompleted")]
    assert first_after[:4] == ["ActivityScheduled", "ActivityCompleted", "ActivityScheduled", "ActivityScheduled"]


def test_dsl_in_the_toolkit(durableflows_env):
    handle = durableflows_env.start(DSLWorkflow, WORKFLOW2, id="dsl")
    assert handle.result() == EXPECTED
    assert_branches_ran_in_parallel(handle)


def test_dsl_from_plain_json_in_the_toolkit(durableflows_env):
    handle = durableflows_env.start("samples.dsl", WORKFLOW2_AS_JSON, id="dsl-json")
    assert handle.result() == EXPECTED


def test_dsl_on_workers(sample_workers):
    handle = df.start(DSLWorkflow, WORKFLOW2, id="dsl-workers")
    assert handle.result(timeout=TIMEOUT) == EXPECTED
    assert_branches_ran_in_parallel(handle)
