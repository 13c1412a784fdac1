"""Temporal's hello_activity_choice: an ``IntEnum`` in a dataclass argument picks the activity to run."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from enum import IntEnum

import durableflows as df


@df.activity
def order_apples(amount: int) -> str:
    return f"Ordered {amount} Apples..."


@df.activity
def order_bananas(amount: int) -> str:
    return f"Ordered {amount} Bananas..."


@df.activity
def order_cherries(amount: int) -> str:
    return f"Ordered {amount} Cherries..."


@df.activity
def order_oranges(amount: int) -> str:
    return f"Ordered {amount} Oranges..."


class Fruit(IntEnum):
    APPLE = 1
    BANANA = 2
    CHERRY = 3
    ORANGE = 4


@dataclasses.dataclass
class ShoppingListItem:
    fruit: Fruit
    amount: int


@dataclasses.dataclass
class ShoppingList:
    items: list[ShoppingListItem]


@df.workflow(name="samples.hello_activity_choice")
class PurchaseFruitsWorkflow:
    @df.run
    async def run(self, shopping_list: ShoppingList) -> str:
        ordered: list[str] = []
        for item in shopping_list.items:
            if item.fruit is Fruit.APPLE:  # identity: the argument comes back as the enum member itself
                order = order_apples
            elif item.fruit is Fruit.BANANA:
                order = order_bananas
            elif item.fruit is Fruit.CHERRY:
                order = order_cherries
            elif item.fruit is Fruit.ORANGE:
                order = order_oranges
            else:
                raise ValueError(f"Unrecognized fruit: {item.fruit}")
            ordered.append(await df.execute_activity(order, item.amount, start_to_close_timeout=timedelta(seconds=5)))
        return "".join(ordered)
