"""Temporal's dsl: a workflow interprets a tree of statements given as a ``Union`` of dataclasses.

A statement runs an activity (arguments read from, and result stored into, the variables), a
sequence of statements, or parallel branches. The input arrives as JSON and is rebuilt from the
hints: each ``Statement`` tries the union's members in order.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from typing import Any, Union

import durableflows as df


@dataclasses.dataclass
class ActivityInvocation:
    name: str
    arguments: list[str] = dataclasses.field(default_factory=list)
    result: str | None = None


@dataclasses.dataclass
class ActivityStatement:
    activity: ActivityInvocation


@dataclasses.dataclass
class Sequence:
    elements: list[Statement]


@dataclasses.dataclass
class SequenceStatement:
    sequence: Sequence


@dataclasses.dataclass
class Parallel:
    branches: list[Statement]


@dataclasses.dataclass
class ParallelStatement:
    parallel: Parallel


Statement = Union[ActivityStatement, SequenceStatement, ParallelStatement]  # noqa: UP007 - as the sample spells it


@dataclasses.dataclass
class DSLInput:
    root: Statement
    variables: dict[str, Any] = dataclasses.field(default_factory=dict)


@df.activity(name="activity1")
def activity1(arg: str) -> str:
    return f"[activity1 of {arg}]"


@df.activity(name="activity2")
def activity2(arg: str) -> str:
    return f"[activity2 of {arg}]"


@df.activity(name="activity3")
def activity3(first: str, second: str) -> str:
    return f"[activity3 of {first} and {second}]"


@df.activity(name="activity4")
def activity4(arg: str) -> str:
    return f"[activity4 of {arg}]"


@df.activity(name="activity5")
def activity5(first: str, second: str) -> str:
    return f"[activity5 of {first} and {second}]"


@df.workflow(name="samples.dsl")
class DSLWorkflow:
    @df.run
    async def run(self, input: DSLInput) -> dict[str, Any]:
        self.variables = dict(input.variables)
        await self.execute_statement(input.root)
        return self.variables

    async def execute_statement(self, statement: Statement) -> None:
        if isinstance(statement, ActivityStatement):
            invocation = statement.activity
            arguments = [self.variables.get(name, "") for name in invocation.arguments]
            result = await df.execute_activity(invocation.name, *arguments, start_to_close_timeout=timedelta(minutes=1))
            if invocation.result:
                self.variables[invocation.result] = result
        elif isinstance(statement, SequenceStatement):
            for element in statement.sequence.elements:
                await self.execute_statement(element)
        elif isinstance(statement, ParallelStatement):
            await asyncio.gather(*(self.execute_statement(branch) for branch in statement.parallel.branches))
        else:
            raise TypeError(f"not a statement: {statement!r}")
