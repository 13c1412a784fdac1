"""Type checkers see the public facade: a start whose arguments do not fit the workflow is flagged."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

USER_CODE = '''
import durableflows as df


@df.workflow(name="typing.order")
async def order(order_id: int, note: str) -> dict[str, int]:
    return {"id": order_id}


@df.workflow
async def ping() -> None: ...


@df.workflow(name="typing.checkout")
class Checkout:
    def __init__(self) -> None:
        self.skus: list[str] = []

    @df.run
    async def run(self, cart_id: str) -> dict[str, int]:
        return {"items": len(self.skus)}

    @df.signal
    def add(self, sku: str) -> None:
        self.skus.append(sku)

    @df.signal(name="drop")
    async def remove(self, sku: str) -> None:
        self.skus.remove(sku)

    @df.query
    def count(self) -> int:
        return len(self.skus)

    @df.query(name="skus")
    def listed(self) -> list[str]:
        return self.skus


@df.workflow
class Bare:
    @df.run
    async def go(self) -> None: ...


@df.activity(start_to_close_timeout=30)
def charge(order_id: int) -> str:
    return "ch"


async def fine() -> None:
    handle = df.start(order, 1, "x", id="o-1", id_conflict="use_existing")
    totals: dict[str, int] = handle.result(timeout=5)
    df.start(ping)
    df.start("typing.order", 1, "x", queue="slow")
    later = await df.astart(order, 2, "y", start_delay=60)
    again: dict[str, int] = await later.aresult()
    receipt: str = charge(1)
    cart: Checkout = Checkout()  # the decorated class keeps its type
    count: int = cart.count()
    df.start(Checkout, "cart-1", id="cart-1")
    await df.astart(Checkout, "cart-2")
    print(count, df.start(Checkout, "cart-3").result(), df.start(Bare).run_id, Bare().go)
    print(totals, again, receipt, df.get_handle("o-1").run_id)


async def wrong() -> None:
    df.start(order, "1", "x")  # WRONG: a str for an int
    df.start(order, 1)  # WRONG: an argument missing
    df.start(order, 1, "x", 3)  # WRONG: one too many
    df.start(order, 1, "x", idd="o-1")  # WRONG: no such option
    await df.astart(order, 1, note=2)  # WRONG: keyword arguments of the workflow are not options
    text: str = df.start(order, 1, "x").result()  # WRONG: the result is a dict
    df.start(charge, 1)  # WRONG: an activity is not a workflow
    missing: str = Checkout().count()  # WRONG: the query method still returns an int
    df.start(Checkout, "cart-1", idd="x")  # WRONG: no such option
'''


def test_type_checkers_flag_a_start_that_does_not_fit_the_workflow(tmp_path):
    pytest.importorskip("mypy")
    module = tmp_path / "user_code.py"
    module.write_text(USER_CODE)
    completed = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file=", "--ignore-missing-imports", "--follow-imports=silent",
         "--no-error-summary", "--cache-dir", str(REPO / "var" / "test" / "mypy-cache"), str(module)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    flagged = {int(n) for n in re.findall(r"user_code\.py:(\d+): error", completed.stdout)}
    expected = {n for n, line in enumerate(USER_CODE.splitlines(), start=1) if "# WRONG" in line}
    assert flagged == expected, completed.stdout + completed.stderr
