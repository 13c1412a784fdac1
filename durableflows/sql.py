"""Single-table statements for the engine's hot path, built once instead of on every call.

Building a statement through the ORM costs 5-10 times the CPU of running it
(``bench/README.md``), and a workflow task runs several while it holds its run
(on SQLite, the whole database). A ``Table`` writes each statement's SQL once
per shape, adapts values with the model fields' own ``get_db_prep_save`` and
reads rows back through Django's converters, so it stores and loads exactly
what the ORM would, on any backend Django supports.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from typing import Any, Generic, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections
from django.db import models as dj_models

M = TypeVar("M", bound=dj_models.Model)

#: Rows per multi-row INSERT: well within every backend's limit on parameters per statement.
_INSERT_BATCH = 500


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

    @cached_property
    def _names(self) -> dict[str, str]:
        """Quoted names: the table's under ``""`` and each column's under its attname."""
        quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
        names = {name: quote(field.column) for name, field in self.fields.items()}
        return {"": quote(self.model._meta.db_table), **names}

    def _where(self, where: Mapping[str, Any], connection: Any) -> tuple[str, list[Any]]:
        clauses, params = [], []
        for name, value in where.items():
            field, column = self.fields[name], self._names[name]
            if isinstance(value, tuple):
                clauses.append(f"{column} IN ({', '.join(['%s'] * len(value))})")
                params += [field.get_db_prep_value(v, connection) for v in value]
            elif value is None:
                clauses.append(f"{column} IS NULL")
            else:
                clauses.append(f"{column} = %s")
                params.append(field.get_db_prep_value(value, connection))
        return " AND ".join(clauses) or "1 = 1", params

    @staticmethod
    def _shape(where: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple((k, len(v) if isinstance(v, tuple) else v is None) for k, v in where.items())

    def _prep(self, values: Mapping[str, Any], connection: Any) -> list[Any]:
        return [self.fields[name].get_db_prep_save(value, connection) for name, value in values.items()]

    # -- writing -------------------------------------------------------------------------------
    def insert(self, objs: Sequence[M]) -> None:
        """INSERT model instances as they are; an auto primary key left unset is read back into each."""
        if not objs:
            return
        connection = connections[DEFAULT_DB_ALIAS]
        if getattr(objs[0], self.pk) is None:
            names = [name for name in self.fields if name != self.pk]
            for obj in objs:  # one at a time: the order of RETURNING rows of a multi-row INSERT is not defined
                new_pk = self._insert_one({name: getattr(obj, name) for name in names}, connection)
                setattr(obj, self.pk, new_pk)
        else:
            self.insert_rows([{name: getattr(obj, name) for name in self.fields} for obj in objs])
        for obj in objs:
            obj._state.adding, obj._state.db = False, connection.alias

    def _insert_one(self, row: Mapping[str, Any], connection: Any) -> Any:
        returning = connection.features.can_return_columns_from_insert
        key = ("insert one", tuple(row))
        sql = self._sql.get(key)
        if sql is None:
            columns = ", ".join(self._names[name] for name in row)
            sql = f"INSERT INTO {self._names['']} ({columns}) VALUES ({', '.join(['%s'] * len(row))})"
            self._sql[key] = sql = sql + (f" RETURNING {self._names[self.pk]}" if returning else "")
        with connection.cursor() as cursor:
            cursor.execute(sql, self._prep(row, connection))
            return cursor.fetchone()[0] if returning else cursor.lastrowid

    def insert_rows(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """INSERT rows given as ``{attname: value}``, all with the same keys, in as few statements as fit."""
        if not rows:
            return
        connection = connections[DEFAULT_DB_ALIAS]
        names = tuple(rows[0])
        columns = ", ".join(self._names[name] for name in names)
        row_sql = f"({', '.join(['%s'] * len(names))})"
        with connection.cursor() as cursor:
            for start in range(0, len(rows), _INSERT_BATCH):
                batch = rows[start : start + _INSERT_BATCH]
                params = [value for row in batch for value in self._prep(row, connection)]
                cursor.execute(
                    f"INSERT INTO {self._names['']} ({columns}) VALUES {', '.join([row_sql] * len(batch))}", params
                )

    def update(self, where: Mapping[str, Any], **values: Any) -> int:
        """UPDATE the rows matching ``where``; returns how many matched."""
        connection = connections[DEFAULT_DB_ALIAS]
        condition, where_params = self._where(where, connection)
        key = ("update", tuple(values), self._shape(where))
        sql = self._sql.get(key)
        if sql is None:
            assignments = ", ".join(f"{self._names[name]} = %s" for name in values)
            self._sql[key] = sql = f"UPDATE {self._names['']} SET {assignments} WHERE {condition}"
        with connection.cursor() as cursor:
            cursor.execute(sql, self._prep(values, connection) + where_params)
            return cursor.rowcount

    def save(self, obj: M, fields: Iterable[str]) -> int:
        """Write ``fields`` of ``obj`` to its row, like ``obj.save(update_fields=...)`` without model signals."""
        return self.update({self.pk: getattr(obj, self.pk)}, **{name: getattr(obj, name) for name in fields})

    def delete(self, where: Mapping[str, Any]) -> int:
        """DELETE the rows matching ``where``; no cascades, so only for tables nothing points at."""
        connection = connections[DEFAULT_DB_ALIAS]
        condition, params = self._where(where, connection)
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {self._names['']} WHERE {condition}", params)
            return cursor.rowcount

    # -- reading -------------------------------------------------------------------------------
    def get(
        self, where: Mapping[str, Any], *, lock: str = "", exists: Mapping[str, tuple[Table, str]] | None = None
    ) -> M | None:
        """The row matching ``where`` as a model instance, or ``None``.

        ``lock`` is appended as is (e.g. ``"FOR NO KEY UPDATE"``). ``exists={"attr": (table, attname)}``
        sets ``attr`` on the instance to whether ``table`` has a row whose ``attname`` points at
        this one: one round trip instead of two.
        """
        connection = connections[DEFAULT_DB_ALIAS]
        exists = exists or {}
        condition, params = self._where(where, connection)
        key = ("get", self._shape(where), lock, tuple((attr, t.model, n) for attr, (t, n) in exists.items()))
        sql = self._sql.get(key)
        if sql is None:
            table = self._names[""]
            columns = [f"{table}.{self._names[name]}" for name in self.fields]
            pk = f"{table}.{self._names[self.pk]}"
            for other, name in exists.values():
                columns.append(f"EXISTS(SELECT 1 FROM {other._names['']} WHERE {other._names[name]} = {pk})")
            self._sql[key] = sql = f"SELECT {', '.join(columns)} FROM {table} WHERE {condition} {lock}".rstrip()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        count = len(self.fields)
        obj = self.model.from_db(connection.alias, list(self.fields), self._convert(self.fields, row[:count]))
        for attr, flag in zip(exists, row[count:], strict=True):
            setattr(obj, attr, bool(flag))
        return obj

    def values(self, where: Mapping[str, Any], names: Sequence[str], *, order_by: str = "") -> list[list[Any]]:
        """The ``names`` columns of the rows matching ``where``, converted to Python values."""
        connection = connections[DEFAULT_DB_ALIAS]
        condition, params = self._where(where, connection)
        key = ("values", self._shape(where), tuple(names), order_by)
        sql = self._sql.get(key)
        if sql is None:
            columns = ", ".join(self._names[name] for name in names)
            order = f" ORDER BY {self._names[order_by]}" if order_by else ""
            self._sql[key] = sql = f"SELECT {columns} FROM {self._names['']} WHERE {condition}{order}"
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        return [self._convert(names, row) for row in rows]

    @cached_property
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
