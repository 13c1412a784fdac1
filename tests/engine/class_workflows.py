"""Class workflows for the engine tests, Temporal's hello_signal and hello_query samples among them."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import durableflows as df


@dataclasses.dataclass
class Greeting:
    salutation: str
    name: str


@df.activity(name="classes_engine.compose")
def compose(greeting: Greeting) -> str:
    return f"{greeting.salutation}, {greeting.name}!"


@df.workflow(name="classes_engine.hello_signal")
class GreetingCollector:
    """hello_signal: greetings arrive by signal until the "exit" signal; the run returns them all."""

    def __init__(self) -> None:
        self.pending: list[str] = []
        self.exit = False

    @df.run
    async def run(self) -> list[str]:
        greetings: list[str] = []
        while True:
            await df.wait_condition(lambda: bool(self.pending) or self.exit)
            while self.pending:
                greetings.append(self.pending.pop(0))
            if self.exit:
                return greetings

    @df.signal
    def submit_greeting(self, name: str) -> None:
        self.pending.append(name)

    @df.signal
    def exit_workflow(self) -> None:
        self.exit = True


@df.workflow(name="classes_engine.hello_query")
class GreetingHolder:
    """hello_query: the greeting changes after two seconds; the "greeting" query reads the current one."""

    def __init__(self) -> None:
        self._greeting = ""

    @df.run
    async def run(self, name: str) -> None:
        self._greeting = await df.execute_activity(compose, Greeting("Hello", name))
        await df.sleep(2)
        self._greeting = await df.execute_activity(compose, Greeting("Goodbye", name))
        await df.sleep(2)

    @df.query
    def greeting(self) -> str:
        return self._greeting


@df.workflow(name="classes_engine.composer")
class Composer:
    """Returns a dataclass, rebuilt from the run method's return hint by callers and parents."""

    @df.run
    async def run(self, salutation: str, name: str) -> Greeting:
        return Greeting(salutation, (await df.execute_activity(compose, Greeting(salutation, name))).upper())


@df.workflow(name="classes_engine.parent_function")
async def parent_function(name: str) -> str:
    """A function workflow running a class child by its class."""
    greeting = await df.execute_child_workflow(Composer, "Hi", name)
    assert isinstance(greeting, Greeting)
    return greeting.name


@df.workflow(name="classes_engine.parent_class")
class ParentClass:
    """A class workflow running a class child by name and signalling it through the child's handle."""

    @df.run
    async def run(self) -> list[str]:
        child = await df.start_child_workflow("classes_engine.hello_signal", id="collector-child")
        await child.signal("submit_greeting", "from parent")
        await child.signal("exit_workflow")
        return await child.result()


@df.workflow(name="classes_engine.counter")
class Counter:
    """Continues as new every few signals; each run starts from a fresh instance and the carried total."""

    def __init__(self) -> None:
        self.seen = 0

    @df.run
    async def run(self, total: int) -> int:
        self.total = total
        await df.wait_condition(lambda: self.seen == 2 or self.total >= 5, timeout=timedelta(days=1))
        if self.total >= 5:
            return self.total
        df.continue_as_new(self.total)
        raise AssertionError("continue_as_new returned")

    @df.signal
    def add(self, amount: int) -> None:
        self.seen += 1
        self.total += amount

    @df.query
    def state(self) -> dict:
        return {"seen": self.seen, "total": self.total}


@dataclasses.dataclass
class Translation:
    language: str
    text: str


@df.activity(name="classes_engine.note")
def note(text: str) -> str:
    return text


@df.workflow(name="classes_engine.hello_update")
class HelloUpdate:
    """Temporal's hello_update, as a class: an update changes the greeting's language, validated first."""

    def __init__(self) -> None:
        self.language = "en"
        self.done = False
        self.greetings = {"en": "Hello", "fr": "Bonjour", "de": "Hallo"}

    @df.run
    async def run(self, name: str) -> str:
        await df.wait_condition(lambda: self.done)
        await df.wait_condition(df.all_handlers_finished)
        return f"{self.greetings[self.language]}, {name}!"

    @df.update
    async def set_language(self, language: str) -> str:
        previous = self.language
        await df.execute_activity(note, f"language {previous} -> {language}")
        self.language = language
        return previous

    @set_language.validator
    def _known_language(self, language: str) -> None:
        if language not in self.greetings:
            raise ValueError(f"{language!r} is not supported")

    @df.update(name="add_translation")
    def translate(self, translation: Translation) -> int:
        self.greetings[translation.language] = translation.text
        return len(self.greetings)

    @df.signal
    def finish(self) -> None:
        self.done = True
