"""The "entity" pattern: a workflow that lives on signals, continuing as new when its history grows long.

Each ``add`` signal is one event; the run folds them into its state until ``df.info()`` suggests
continuing as new, then hands the state to a fresh run (once no handler is still running). A
``close`` signal ends it with the state.
"""

from __future__ import annotations

import dataclasses

import durableflows as df


@dataclasses.dataclass
class Account:
    total: int = 0
    signals: int = 0
    runs: int = 1


@df.workflow(name="samples.entity")
class AccountEntity:
    def __init__(self) -> None:
        self.account = Account()
        self.closing = False

    @df.run
    async def run(self, account: Account) -> Account:
        self.account = account
        await df.wait_condition(lambda: self.closing or df.info().continue_as_new_suggested)
        await df.wait_condition(df.all_handlers_finished)
        if self.closing:
            return self.account
        df.continue_as_new(dataclasses.replace(self.account, runs=self.account.runs + 1))
        raise AssertionError("continue_as_new never returns")

    @df.signal
    def add(self, amount: int) -> None:
        self.account.total += amount
        self.account.signals += 1

    @df.signal
    def close(self) -> None:
        self.closing = True

    @df.query
    def balance(self) -> Account:
        return self.account
