"""``manage.py durableflows_replay_check``: replay stored histories against the current workflow code.

Run it in CI (against a copy of production data) before deploying a workflow
change: it lists every run the new code would hold with ``NonDeterminismError``
and exits with status 1 if there is any.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ... import registry, storage
from ...conf import df_settings
from ...errors import NonDeterminismError
from ...models import WorkflowRun
from ...runtime import WorkflowExecution
from ...status import OPEN_STATUSES, Status


@dataclasses.dataclass(frozen=True)
class Problem:
    """A run the current code cannot replay."""

    kind: str  # "non-determinism" or "error"
    run: WorkflowRun
    message: str


def replay_run(run: WorkflowRun) -> Problem | None:
    """Replay ``run``'s stored history with the registered code of its workflow; ``None`` if it matches."""
    definition = registry.get_workflow(run.workflow_name)
    if run.status == Status.PENDING:
        return None  # only WorkflowStarted is stored: the code has not run yet, there is nothing to diverge from
    execution = WorkflowExecution(
        definition.fn, suggest_continue_as_new_after=df_settings.SUGGEST_CONTINUE_AS_NEW_AFTER
    )
    try:
        execution.replay(storage.load_history(run.pk))
    except NonDeterminismError as exc:
        return Problem("non-determinism", run, str(exc))
    except Exception as exc:  # noqa: BLE001 - anything else that stops replay is just as fatal to the run
        return Problem("error", run, f"{type(exc).__name__}: {exc}")
    return None


def runs_to_check(*, closed_sample: int, workflows: list[str] | None) -> Iterator[WorkflowRun]:
    """Every open run, then up to ``closed_sample`` most recently closed runs of each workflow name."""
    base = WorkflowRun.objects.filter(workflow_name__in=workflows) if workflows else WorkflowRun.objects.all()
    yield from base.filter(status__in=OPEN_STATUSES).order_by("created_at").iterator()
    if closed_sample <= 0:
        return
    closed = base.exclude(status__in=OPEN_STATUSES).filter(closed_at__isnull=False)
    names = closed.values_list("workflow_name", flat=True).distinct().order_by("workflow_name")
    for name in names:
        yield from closed.filter(workflow_name=name).order_by("-closed_at")[:closed_sample]


class Command(BaseCommand):
    help = (
        "Replay stored workflow histories (all open runs, plus --closed-sample closed runs per workflow) against "
        "the current code and report every non-determinism; exit status 1 if any run would be held."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--closed-sample",
            type=int,
            default=0,
            metavar="N",
            help="also replay the N most recently closed runs of each workflow (default: 0)",
        )
        parser.add_argument(
            "--workflow",
            action="append",
            dest="workflows",
            metavar="NAME",
            help="only runs of this workflow name (repeatable)",
        )

    def handle(self, *args: Any, closed_sample: int, workflows: list[str] | None, **options: Any) -> None:
        if closed_sample < 0:
            raise CommandError("--closed-sample must not be negative")
        checked = 0
        problems: list[Problem] = []
        unknown: dict[str, _Unknown] = {}
        known = registry.workflows()
        for run in runs_to_check(closed_sample=closed_sample, workflows=workflows):
            if run.workflow_name not in known:
                unknown.setdefault(run.workflow_name, _Unknown()).add(run)
                continue
            checked += 1
            problem = replay_run(run)
            if problem is not None:
                problems.append(problem)
                self._report(problem)
        blocking_unknown = self._report_unknown(unknown)
        summary = (
            f"Replayed {checked} run(s): {len(problems)} cannot be replayed by the current code"
            + (f"; {blocking_unknown} open run(s) of unregistered workflows" if blocking_unknown else "")
            + "."
        )
        if problems or blocking_unknown:
            raise CommandError(summary, returncode=1)
        self.stdout.write(self.style.SUCCESS(summary))

    def _report(self, problem: Problem) -> None:
        run = problem.run
        label = "NON-DETERMINISM" if problem.kind == "non-determinism" else "REPLAY ERROR"
        self.stdout.write(
            self.style.ERROR(label)
            + f" workflow={run.workflow_name} workflow_id={run.workflow_id} run_id={run.run_id}"
            + f" status={run.status}: {problem.message}"
        )

    def _report_unknown(self, unknown: dict[str, _Unknown]) -> int:
        """Report runs of unregistered workflows; returns how many of them are open (those would be held)."""
        for name, runs in sorted(unknown.items()):
            label = self.style.ERROR if runs.open else self.style.WARNING
            examples = ", ".join(runs.examples)
            self.stdout.write(
                label("UNKNOWN WORKFLOW")
                + f" {name!r} is not registered: {runs.open} open and {runs.closed} sampled closed run(s),"
                + f" e.g. {examples}"
            )
        return sum(runs.open for runs in unknown.values())


@dataclasses.dataclass
class _Unknown:
    """Runs of one unregistered workflow name: counts and a few examples."""

    open: int = 0
    closed: int = 0
    examples: list[str] = dataclasses.field(default_factory=list)

    def add(self, run: WorkflowRun) -> None:
        if run.is_open:
            self.open += 1
        else:
            self.closed += 1
        if len(self.examples) < 3 and (run.is_open or not self.open):
            self.examples.append(f"workflow_id={run.workflow_id} run_id={run.run_id}")
