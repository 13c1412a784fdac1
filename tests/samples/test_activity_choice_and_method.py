"""hello_activity_choice (an IntEnum picks the activity) and hello_activity_method (injected dependencies)."""

from __future__ import annotations

import os

import durableflows as df

from . import hello_activity_method
from .conftest import TIMEOUT, event_data
from .hello_activity_choice import Fruit, PurchaseFruitsWorkflow, ShoppingList, ShoppingListItem

SHOPPING_LIST = ShoppingList(
    [
        ShoppingListItem(Fruit.APPLE, 8),
        ShoppingListItem(Fruit.BANANA, 5),
        ShoppingListItem(Fruit.CHERRY, 1),
        ShoppingListItem(Fruit.ORANGE, 4),
    ]
)
ORDERED = "Ordered 8 Apples...Ordered 5 Bananas...Ordered 1 Cherries...Ordered 4 Oranges..."


def test_activity_choice_in_the_toolkit(durableflows_env):
    handle = durableflows_env.start(PurchaseFruitsWorkflow, SHOPPING_LIST, id="activity-choice")
    assert handle.result() == ORDERED
    names = [data["name"].rsplit(".", 1)[-1] for data in event_data(handle, "ActivityScheduled")]
    assert names == ["order_apples", "order_bananas", "order_cherries", "order_oranges"]


def test_activity_choice_on_workers(sample_workers):
    handle = df.start(PurchaseFruitsWorkflow, SHOPPING_LIST, id="activity-choice-workers")
    assert handle.result(timeout=TIMEOUT) == ORDERED


def test_activity_method_in_the_toolkit(durableflows_env):
    before = len(hello_activity_method.db_client.updates)
    handle = durableflows_env.start(hello_activity_method.MyWorkflow, id="activity-method")
    assert handle.result() == f"database update {before + 1} in process {os.getpid()}"
    assert len(hello_activity_method.db_client.updates) == before + 1  # the object the module registered


def test_activity_method_on_workers(sample_workers):
    handle = df.start(hello_activity_method.MyWorkflow, id="activity-method-workers")
    result = handle.result(timeout=TIMEOUT)
    assert result.startswith("database update ") and not result.endswith(f"in process {os.getpid()}")
