"""Single-table statements for the engine's hot path, built once instead of on every call.

Building a statement through the ORM costs 5-10 times the CPU of running it
(``bench/README.md``), and a workflow task runs several while it holds its run
(on SQLite, the whole database). A ``Table`` writes each statement's SQL once
per shape, adapts values with the model fields' own ``get_db_prep_save`` and
reads rows back through Django's converters, so it stores and loads exactly
what the ORM would, on any backend Django supports. A ``Batch`` sends statements
that do not depend on each other in one round trip where the driver allows.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import gc
import json
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Generic, TypeVar, cast, overload

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db import models as dj_models

M = TypeVar("M", bound=dj_models.Model)
T = TypeVar("T")

#: Rows per multi-row INSERT: well within every backend's limit on parameters per statement.
_ROWS_PER_INSERT = 500


class Table(Generic[M]):
    """Statements on one model's table, in the default database.

    Conditions are ``{attname: value}``, ``{attname: None}`` for IS NULL, or
    ``{attname: (v1, v2)}`` for IN; values are given by attname (``run_id``, not ``run``).
    """

    def __init__(self, model: type[M]) -> None:
        self.model = model
        self.fields = {f.attname: f for f in model._meta.concrete_fields}
        self.pk = model._meta.pk.attname
        self._sql: dict[tuple[Any, ...], str] = {}

    @functools.cached_property
    def _names(self) -> dict[str, str]:
        """Quoted names: the table's under ``""`` and each column's under its attname."""
        quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
        names = {name: quote(cast(str, field.column)) for name, field in self.fields.items()}  # concrete: has one
        return {"": quote(self.model._meta.db_table), **names}

    def _where(self, where: Mapping[str, Any], connection: Any) -> tuple[str, list[Any]]:
        clauses, params = [], []
        for name, value in where.items():
            field, column = self.fields[name], self._names[name]
            if isinstance(value, tuple):
                clauses.append(f"{column} IN ({', '.join(['%s'] * len(value))})" if value else "1 = 0")
                params += [field.get_db_prep_value(v, connection) for v in value]
            elif value is None:
                clauses.append(f"{column} IS NULL")
            else:
                clauses.append(f"{column} = %s")
                params.append(field.get_db_prep_value(value, connection))
        return " AND ".join(clauses) or "1 = 1", params

    @staticmethod
    def _shape(where: Mapping[str, Any]) -> tuple[Any, ...]:
        """What the SQL of ``where`` depends on: each name, and whether it is IN (of how many), IS NULL or =."""
        return tuple(
            (k, "in", len(v)) if isinstance(v, tuple) else (k, "null" if v is None else "=") for k, v in where.items()
        )

    def _prep(self, values: Mapping[str, Any], connection: Any) -> list[Any]:
        return [self.fields[name].get_db_prep_save(value, connection) for name, value in values.items()]

    # -- writing -------------------------------------------------------------------------------
    # Every statement runs at once and returns its result, or, given ``batch``, is queued
    # there and returns a ``Pending`` that holds the result once the batch has run.

    def insert(self, objs: Sequence[M], *, batch: Batch | None = None) -> None:
        """INSERT model instances as they are; an auto primary key left unset is read back into each."""
        if not objs:
            return
        if getattr(objs[0], self.pk) is not None:
            self.insert_rows([{name: getattr(obj, name) for name in self.fields} for obj in objs], batch=batch)
        else:
            connection = connections[DEFAULT_DB_ALIAS]
            returning = connection.features.can_return_columns_from_insert
            names = [name for name in self.fields if name != self.pk]
            key = ("insert one", returning)
            sql = self._sql.get(key)
            if sql is None:
                columns = ", ".join(self._names[name] for name in names)
                sql = f"INSERT INTO {self._names['']} ({columns}) VALUES ({', '.join(['%s'] * len(names))})"
                self._sql[key] = sql = sql + (f" RETURNING {self._names[self.pk]}" if returning else "")
            for obj in objs:  # one at a time: the order of RETURNING rows of a multi-row INSERT is not defined

                def read_pk(cursor: Any, obj: M = obj) -> None:
                    setattr(obj, self.pk, cursor.fetchone()[0] if returning else cursor.lastrowid)

                _submit(batch, sql, self._prep({name: getattr(obj, name) for name in names}, connection), read_pk)
        for obj in objs:
            obj._state.adding, obj._state.db = False, DEFAULT_DB_ALIAS

    def insert_rows(self, rows: Sequence[Mapping[str, Any]], *, batch: Batch | None = None) -> None:
        """INSERT rows given as ``{attname: value}``, all with the same keys, in as few statements as fit."""
        if not rows:
            return
        connection = connections[DEFAULT_DB_ALIAS]
        names = tuple(rows[0])
        columns = ", ".join(self._names[name] for name in names)
        row_sql = f"({', '.join(['%s'] * len(names))})"
        for start in range(0, len(rows), _ROWS_PER_INSERT):
            chunk = rows[start : start + _ROWS_PER_INSERT]
            params = [value for row in chunk for value in self._prep(row, connection)]
            _submit(
                batch, f"INSERT INTO {self._names['']} ({columns}) VALUES {', '.join([row_sql] * len(chunk))}", params
            )

    @overload
    def update(self, where: Mapping[str, Any], *, batch: None = None, **values: Any) -> int: ...
    @overload
    def update(self, where: Mapping[str, Any], *, batch: Batch, **values: Any) -> Pending[int]: ...
    def update(self, where: Mapping[str, Any], *, batch: Batch | None = None, **values: Any) -> int | Pending[int]:
        """UPDATE the rows matching ``where``; the result is how many matched."""
        return _submit(batch, *self._update(where, values), _rowcount)

    def _update(self, where: Mapping[str, Any], values: Mapping[str, Any]) -> tuple[str, list[Any]]:
        connection = connections[DEFAULT_DB_ALIAS]
        condition, where_params = self._where(where, connection)
        key = ("update", tuple(values), self._shape(where))
        sql = self._sql.get(key)
        if sql is None:
            assignments = ", ".join(f"{self._names[name]} = %s" for name in values)
            self._sql[key] = sql = f"UPDATE {self._names['']} SET {assignments} WHERE {condition}"
        return sql, self._prep(values, connection) + where_params

    def require(self, where: Mapping[str, Any], *, present: bool = True, lock: str = "", batch: Batch) -> None:
        """Queue a check: a statement that fails unless a row matches ``where`` (``present=False``: unless none does).

        For a batch that is one implicit transaction on PostgreSQL (``transactions.batch_is_atomic_alone``):
        the failure rolls back every statement of the batch, so what a transaction would read and check
        before writing is checked by the database itself, with no BEGIN and COMMIT round trips. The
        failure is a division by zero (SQL has no statement to raise an error with): see ``unmet``.
        ``lock`` (e.g. ``"FOR NO KEY UPDATE"``) locks the rows matched.
        """
        condition, params = self._where(where, connections[DEFAULT_DB_ALIAS])
        rows = f"SELECT 1 FROM {self._names['']} WHERE {condition} {lock}".rstrip()
        holds = "count(*) > 0" if present else "count(*) = 0"
        batch.add(f"SELECT 1 / CASE WHEN {holds} THEN 1 ELSE 0 END FROM ({rows}) AS r", params)

    def update_required(self, where: Mapping[str, Any], *, batch: Batch, **values: Any) -> None:
        """Queue an UPDATE that fails, as ``require`` does, unless it matches a row."""
        sql, params = self._update(where, values)
        batch.add(f"WITH r AS ({sql} RETURNING 1) SELECT 1 / count(*) FROM r", params)

    @overload
    def save(self, obj: M, fields: Iterable[str], *, batch: None = None) -> int: ...
    @overload
    def save(self, obj: M, fields: Iterable[str], *, batch: Batch) -> Pending[int]: ...
    def save(self, obj: M, fields: Iterable[str], *, batch: Batch | None = None) -> int | Pending[int]:
        """Write ``fields`` of ``obj`` to its row, like ``obj.save(update_fields=...)`` without model signals."""
        values = {name: getattr(obj, name) for name in fields}
        return self.update({self.pk: getattr(obj, self.pk)}, batch=batch, **values)

    @overload
    def delete(self, where: Mapping[str, Any], *, batch: None = None) -> int: ...
    @overload
    def delete(self, where: Mapping[str, Any], *, batch: Batch) -> Pending[int]: ...
    def delete(self, where: Mapping[str, Any], *, batch: Batch | None = None) -> int | Pending[int]:
        """DELETE the rows matching ``where``; no cascades, so only for tables nothing points at."""
        condition, params = self._where(where, connections[DEFAULT_DB_ALIAS])
        return _submit(batch, f"DELETE FROM {self._names['']} WHERE {condition}", params, _rowcount)

    # -- reading -------------------------------------------------------------------------------
    @overload
    def get(
        self,
        where: Mapping[str, Any],
        *,
        lock: str = ...,
        exists: Mapping[str, tuple[Table, str]] | None = ...,
        batch: None = None,
    ) -> M | None: ...
    @overload
    def get(
        self,
        where: Mapping[str, Any],
        *,
        lock: str = ...,
        exists: Mapping[str, tuple[Table, str]] | None = ...,
        batch: Batch,
    ) -> Pending[M | None]: ...
    def get(
        self,
        where: Mapping[str, Any],
        *,
        lock: str = "",
        exists: Mapping[str, tuple[Table, str]] | None = None,
        batch: Batch | None = None,
    ) -> M | None | Pending[M | None]:
        """The row matching ``where`` as a model instance, or ``None``.

        ``lock`` is appended as is (e.g. ``"FOR NO KEY UPDATE"``). ``exists={"attr": (table, attname)}``
        sets ``attr`` on the instance to whether ``table`` has a row whose ``attname`` points at
        this one: one round trip instead of two.
        """

        def load(cursor: Any) -> M | None:
            row = cursor.fetchone()
            return None if row is None else self._instance(row, exists)

        return _submit(batch, *self._select(where, lock, exists, ""), load)

    def rows(
        self,
        where: Mapping[str, Any],
        *,
        lock: str = "",
        exists: Mapping[str, tuple[Table, str]] | None = None,
        order_by: str = "",
        batch: Batch,
    ) -> Pending[list[M]]:
        """Every row matching ``where`` as model instances, in ``order_by`` order; the rest as ``get``."""

        def load(cursor: Any) -> list[M]:
            return [self._instance(row, exists) for row in cursor.fetchall()]

        return _submit(batch, *self._select(where, lock, exists, order_by), load)

    def _select(
        self, where: Mapping[str, Any], lock: str, exists: Mapping[str, tuple[Table, str]] | None, order_by: str
    ) -> tuple[str, list[Any]]:
        """The SELECT of ``get`` and ``rows``, and its parameters."""
        exists = exists or {}
        condition, params = self._where(where, connections[DEFAULT_DB_ALIAS])
        key = ("get", self._shape(where), lock, order_by, tuple((attr, t.model, n) for attr, (t, n) in exists.items()))
        sql = self._sql.get(key)
        if sql is None:
            table = self._names[""]
            columns = [f"{table}.{self._names[name]}" for name in self.fields]
            pk = f"{table}.{self._names[self.pk]}"
            for other, name in exists.values():
                columns.append(f"EXISTS(SELECT 1 FROM {other._names['']} WHERE {other._names[name]} = {pk})")
            order = f" ORDER BY {table}.{self._names[order_by]}" if order_by else ""
            self._sql[key] = sql = f"SELECT {', '.join(columns)} FROM {table} WHERE {condition}{order} {lock}".rstrip()
        return sql, params

    def _instance(self, row: Sequence[Any], exists: Mapping[str, tuple[Table, str]] | None) -> M:
        """A model instance of a row of ``_select``, with the ``exists`` flags set on it."""
        count = len(self.fields)
        obj = self.model.from_db(DEFAULT_DB_ALIAS, list(self.fields), self._convert(self.fields, row[:count]))
        for attr, flag in zip(exists or {}, row[count:], strict=True):
            setattr(obj, attr, bool(flag))
        return obj

    @overload
    def values(
        self,
        where: Mapping[str, Any],
        names: Sequence[str],
        *,
        order_by: str = ...,
        row: Callable[..., T] = ...,
        condition: tuple[str, Sequence[Any]] | None = ...,
        batch: None = None,
    ) -> list[T]: ...
    @overload
    def values(
        self,
        where: Mapping[str, Any],
        names: Sequence[str],
        *,
        order_by: str = ...,
        row: Callable[..., T] = ...,
        condition: tuple[str, Sequence[Any]] | None = ...,
        batch: Batch,
    ) -> Pending[list[T]]: ...
    def values(
        self,
        where: Mapping[str, Any],
        names: Sequence[str],
        *,
        order_by: str = "",
        row: Callable[..., Any] = lambda *values: values,
        condition: tuple[str, Sequence[Any]] | None = None,
        batch: Batch | None = None,
    ) -> list[Any] | Pending[list[Any]]:
        """The ``names`` columns of the rows matching ``where`` as Python values; each row is ``row(*values)``.

        ``condition`` is more SQL with its parameters, ANDed to ``where`` as is (a fixed text: it keys the cache).
        """
        clause, params = self._where(where, connections[DEFAULT_DB_ALIAS])
        extra, extra_params = condition or ("", ())
        params = [*params, *extra_params]
        key = ("values", self._shape(where), tuple(names), order_by, extra)
        sql = self._sql.get(key)
        if sql is None:
            columns = ", ".join(self._names[name] for name in names)
            order = f" ORDER BY {self._names[order_by]}" if order_by else ""
            also = f" AND ({extra})" if extra else ""
            self._sql[key] = sql = f"SELECT {columns} FROM {self._names['']} WHERE {clause}{also}{order}"
        return _submit(batch, sql, params, lambda cursor: self._read_all(names, cursor, row))

    def _read_all(self, names: Sequence[str], cursor: Any, row: Callable[..., T]) -> list[T]:
        """The cursor's rows as ``row(*values)``, made with the garbage collector held off."""
        with _collector_paused():
            return self._read_rows(names, cursor.fetchall(), row)

    def _read_rows(self, names: Sequence[str], rows: Sequence[Sequence[Any]], row: Callable[..., T]) -> list[T]:
        """``row(*values)`` of each row, converted a column at a time: per value, only its converters' calls."""
        if not rows:
            return []
        connection = connections[DEFAULT_DB_ALIAS]
        columns: list[Sequence[Any]] = list(zip(*rows, strict=True))
        for index, name in enumerate(names):
            for func, col in self._converters[name]:
                columns[index] = _convert_column(columns[index], func, col, self.fields[name], connection)
        return [row(*values) for values in zip(*columns, strict=True)]

    @functools.cached_property
    def _converters(self) -> dict[str, list[tuple[Any, Any]]]:
        """Per attname, the backend's and the field's from-database converters, as the ORM applies them."""
        connection = connections[DEFAULT_DB_ALIAS]
        converters = {}
        for name, field in self.fields.items():
            col = field.get_col(self.model._meta.db_table)
            funcs = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
            converters[name] = [(func, col) for func in funcs]
        return converters

    def _convert(self, names: Iterable[str], row: Sequence[Any]) -> list[Any]:
        connection = connections[DEFAULT_DB_ALIAS]
        values = []
        for name, value in zip(names, row, strict=True):
            for func, col in self._converters[name]:
                value = func(value, col, connection)
            values.append(value)
        return values


def _convert_column(
    values: Sequence[Any], func: Callable[..., Any], col: Any, field: dj_models.Field, connection: Any
) -> list[Any]:
    """``func(value, col, connection)`` of each value; the two converters that run per history event, inlined.

    A ``JSONField``'s (without a decoder of its own) and, on SQLite and MySQL, a ``DateTimeField``'s
    with ``USE_TZ``, which makes a naive datetime aware in the connection's zone. A value they do not
    expect goes through ``func`` itself.
    """
    if isinstance(field, dj_models.JSONField) and field.decoder is None and func == field.from_db_value:
        return _loads_json(values, lambda value: func(value, col, connection))
    # the converters were bound to the ops of the connection (of the thread) that first read the table
    ops_method = getattr(type(connection.ops), "convert_datetimefield_value", None)
    if ops_method is not None and getattr(func, "__func__", None) is ops_method and settings.USE_TZ:
        zone, combine = connection.timezone, datetime.datetime.combine
        # combine() attaches the zone as replace(tzinfo=zone) would, at a quarter of its cost (keyword parsing)
        return [
            combine(value.date(), value.time(), zone)
            if type(value) is datetime.datetime and value.tzinfo is None
            else func(value, col, connection)
            for value in values
        ]
    return [func(value, col, connection) for value in values]


_decode_json = json.JSONDecoder().raw_decode


def _loads_json(values: Sequence[Any], convert: Callable[[Any], Any]) -> list[Any]:
    """JSON texts decoded as ``JSONField.from_db_value`` does, without its layers of calls per value.

    A value that is not exactly one JSON document (or not text) goes through ``convert``, the field's own.
    """
    if all(type(value) is str for value in values):
        # One document of them all, decoded in one call: a JSON column's values are each one document
        # (the database checks them), so the array has exactly their values, in order.
        try:
            together = json.loads(f"[{','.join(values)}]")
        except ValueError:
            together = None
        if isinstance(together, list) and len(together) == len(values):
            return together
    decoded = []
    for value in values:
        try:
            result, end = _decode_json(value)
        except (TypeError, ValueError):
            result, end = convert(value), -1
        if end != -1 and end != len(value):
            result = convert(value)
        decoded.append(result)
    return decoded


_pauses = 0
_pauses_lock = threading.Lock()
_collector_was_enabled = False


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector held off while rows become objects (counted across threads).

    Collections set off while a long history is read would only age its new objects into the oldest
    generation, bringing on full collections (~25 ms each at 90k objects): young, a task drops them cheaply.
    """
    global _pauses, _collector_was_enabled
    with _pauses_lock:
        if _pauses == 0:
            _collector_was_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pauses_lock:
            _pauses -= 1
            if _pauses == 0 and _collector_was_enabled:
                gc.enable()


def _collector_resumed_in_child() -> None:
    """A process forked while other threads were reading rows: their reads do not go on in it."""
    global _pauses, _pauses_lock
    _pauses_lock = threading.Lock()  # another thread may have held it
    if _pauses:
        _pauses = 0
        if _collector_was_enabled:
            gc.enable()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_collector_resumed_in_child)


def unmet(exc: BaseException) -> bool:
    """Whether ``exc`` is the failure of a check queued by ``Table.require`` or ``Table.update_required``."""
    return getattr(exc.__cause__, "sqlstate", None) == "22012"  # division_by_zero


def _rowcount(cursor: Any) -> int:
    return cursor.rowcount


def _submit(batch: Batch | None, sql: str, params: list[Any], read: Callable[[Any], T] | None = None) -> Any:
    """Run a statement now and return what ``read`` makes of its cursor, or queue it in ``batch``."""
    if batch is not None:
        return batch.add(sql, params, read)
    connection = connections[DEFAULT_DB_ALIAS]
    with connection.cursor() as cursor:
        _load_fast(cursor, connection)
        cursor.execute(sql, params)
        return read(cursor) if read is not None else None


class Pending(Generic[T]):
    """The result of a statement queued in a ``Batch``: ``value`` once the batch has run."""

    __slots__ = ("value",)
    value: T


class Batch:
    """Statements a transaction sends together, where one does not need the result of another.

    On PostgreSQL with psycopg 3's client-side binding (Django's default), and on MariaDB
    and MySQL with mysqlclient, they go out as one multi-statement query: one round trip
    instead of one per statement. On SQLite they run one after another. Either way they run
    in the order they were added, inside the caller's transaction, and each ``Pending`` gets
    its statement's result.
    """

    def __init__(self) -> None:
        self._queued: list[tuple[str, list[Any], Callable[[Any], Any] | None, Pending[Any]]] = []

    def add(self, sql: str, params: list[Any], read: Callable[[Any], T] | None = None) -> Pending[T]:
        pending: Pending[T] = Pending()
        self._queued.append((sql, params, read, pending))
        return pending

    def run(self) -> None:
        queued, self._queued = self._queued, []
        if not queued:
            return
        connection = connections[DEFAULT_DB_ALIAS]
        with connection.cursor() as cursor:
            _load_fast(cursor, connection)
            together = len(queued) > 1 and _sends_many_at_once(connection)
            if together:
                cursor.execute("; ".join(sql for sql, *_ in queued), [p for _, params, *_ in queued for p in params])
            for index, (sql, params, read, pending) in enumerate(queued):
                if not together:
                    cursor.execute(sql, params)
                elif index:
                    cursor.nextset()
                pending.value = read(cursor) if read is not None else None


def _sends_many_at_once(connection: Any) -> bool:
    """Whether one ``execute`` may carry several statements with parameters (and ``nextset`` walks them)."""
    if connection.vendor == "mysql":  # mysqlclient binds client-side and allows it unless told otherwise
        return bool(connection.settings_dict["OPTIONS"].get("multi_statements", True))
    if connection.vendor != "postgresql":
        return False
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    return is_psycopg3 and not connection.features.uses_server_side_binding


def _load_fast(cursor: Any, connection: Any) -> None:
    """On PostgreSQL in UTC, read ``timestamptz`` with psycopg's compiled loader rather than Django's.

    Django's loader is a Python subclass of psycopg's pure-Python one that sets the connection's time
    zone; when that zone is UTC (the session's, as Django sets it), psycopg's own compiled loader
    returns the same values several times faster: it counts when thousands of history events are read.
    """
    loader = _compiled_timestamptz_loader(connection)
    if loader is not None:
        cursor.cursor.adapters.register_loader("timestamptz", loader)


def _compiled_timestamptz_loader(connection: Any) -> Any:
    if connection.vendor != "postgresql" or connection.timezone is not datetime.UTC:
        return None
    return _psycopg_compiled_timestamptz_loader()


@functools.cache
def _psycopg_compiled_timestamptz_loader() -> Any:
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    if not is_psycopg3:
        return None
    import psycopg

    if psycopg.pq.__impl__ not in ("c", "binary"):
        return None
    return psycopg.adapters.get_loader(psycopg.adapters.types["timestamptz"].oid, psycopg.pq.Format.TEXT)
