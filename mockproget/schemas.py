"""``ApiKeyInfo`` on the wire (spec §2): validation in, rendering out, with marshmallow.

In: property names and enum values are read case-insensitively; unknown properties and a
client-sent ``id`` are ignored; every problem is reported at once. Out: camelCase names,
lower-camelCase enum values, nulls omitted.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validates_schema
from marshmallow.exceptions import SCHEMA

from .errors import InvalidInput
from .models import (
    API_KEY_TYPES,
    LIMITED_SYSTEM_APIS,
    LOGGING_MODES,
    PACKAGE_PERMISSIONS,
    SYSTEM_APIS,
    ApiKey,
    NewApiKey,
    fold_case,
)

__all__ = ["WIRE_NAMES", "ApiKeyInfoIn", "dump_api_key", "load_new_api_key", "parse_json"]


class Choice(fields.String):
    """A string enum read case-insensitively and returned in its canonical spelling."""

    def __init__(self, choices: tuple[str, ...], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.choices = {fold_case(c): c for c in choices}

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return self.choices[fold_case(text)]
        except KeyError:
            raise ValidationError(
                f"{text!r} is not one of: {', '.join(self.choices.values())}") from None


class Text(fields.String):
    """A string that must be valid Unicode (JSON can carry lone surrogates)."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not _is_unicode(text):
            raise ValidationError("not valid Unicode text (lone surrogate)")
        return text


def _is_unicode(text: str) -> bool:
    """Whether ``text`` is valid Unicode: JSON's escapes can carry lone surrogates."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class IsoDateTime(fields.Field[datetime]):
    """ISO 8601 date-time with or without offset (pgutil sends ``2024-08-01T00:00:00``)."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> datetime:
        if not isinstance(value, str):
            raise ValidationError("must be an ISO 8601 date-time string")
        try:
            parsed = datetime.fromisoformat(value.strip())
            if parsed.tzinfo is not None:
                parsed.astimezone(timezone.utc)  # 0001-01-01T00:00:00+05:00 has no UTC form
        except (ValueError, OverflowError):
            raise ValidationError(f"{value!r} is not an ISO 8601 date-time in range") from None
        return parsed


def _unique(values: list[str] | None) -> tuple[str, ...] | None:
    return None if values is None else tuple(dict.fromkeys(values))


class ApiKeyInfoIn(Schema):
    """Validates a create request body. ``load`` returns a :class:`NewApiKey`."""

    class Meta:
        unknown = EXCLUDE

    type = Choice(API_KEY_TYPES, required=True)
    key = Text(allow_none=True)
    displayName = Text(allow_none=True)
    description = Text(allow_none=True)
    systemApis = fields.List(Choice(SYSTEM_APIS), allow_none=True)
    packagePermissions = fields.List(Choice(PACKAGE_PERMISSIONS), allow_none=True)
    feed = Text(allow_none=True)
    feedGroup = Text(allow_none=True)
    expiration = IsoDateTime(allow_none=True)
    logging = Choice(LOGGING_MODES, required=True)
    user = Text(allow_none=True)
    _canonical: dict[str, str] | None = None

    @pre_load
    def _fold_names(self, data: Any, **kwargs: Any) -> Any:
        """Case-insensitive property names; ``id`` and ``API_Key`` are not key properties."""
        if not isinstance(data, dict):
            raise ValidationError("the body must be a JSON object (an ApiKeyInfo)")
        canonical = self._canonical
        if canonical is None:  # the fields are fixed once the schema exists: fold once
            canonical = self._canonical = {fold_case(name): name for name in self.fields}
        folded: dict[str, Any] = {}
        for name, value in data.items():
            target = canonical.get(fold_case(name))
            if target is None:
                continue  # unknown properties, id and API_Key are ignored
            if target in folded:
                raise ValidationError(f"property {target!r} is given more than once", target)
            folded[target] = value
        return folded

    @validates_schema(skip_on_field_errors=False)
    def _per_type_rules(self, data: dict[str, Any], **kwargs: Any) -> None:
        """The per-type rules of spec §2."""
        errors = per_type_problems(data)
        if errors:
            raise ValidationError(errors)


def per_type_problems(data: Mapping[str, Any]) -> dict[str, list[str]]:
    """The per-type rules of spec §2 over loaded ``ApiKeyInfo`` fields: the problems, by
    property (none: the body keeps them)."""
    kind = data.get("type")
    errors: dict[str, list[str]] = {}
    for name in _FORBIDDEN.get(kind, ()):  # type: ignore[arg-type]
        if data.get(name) is not None:
            _problem(errors, name, f"must be absent or null for a {kind} key")
    if kind == "other":
        _problem(errors, "type", "'other' is a legacy key type and cannot be created; use system, feed or personal")
    elif kind == "system":
        apis = data.get("systemApis")
        if not apis:
            _problem(errors, "systemApis", "required for a system key: [\"full-control\"] or a combination of "
                                           "feeds, sca, sbom-upload")
        elif "full-control" in apis and len(set(apis)) > 1:
            _problem(errors, "systemApis", "\"full-control\" must be alone; it already includes "
                                           + ", ".join(LIMITED_SYSTEM_APIS))
    elif kind == "feed":
        if not data.get("packagePermissions"):
            _problem(errors, "packagePermissions", "required for a feed key: a combination of "
                                                   + ", ".join(PACKAGE_PERMISSIONS))
        if (data.get("feed") is not None) == (data.get("feedGroup") is not None):
            _problem(errors, "feed", "a feed key needs exactly one of feed or feedGroup")
    elif kind == "personal" and data.get("user") is None:
        _problem(errors, "user", "required for a personal key: the name of an existing user")
    for name in ("feed", "feedGroup", "user", "key"):
        if data.get(name) == "":
            _problem(errors, name, "must not be empty")
    return errors


def _problem(errors: dict[str, list[str]], name: str, text: str) -> None:
    """Add ``text`` to what is wrong with property ``name``."""
    errors.setdefault(name, []).append(text)


#: The properties each key type must leave absent or null (spec §2), in the order the
#: problems are listed.
_FORBIDDEN = {"system": ("packagePermissions", "feed", "feedGroup", "user"), "feed": ("systemApis", "user"),
              "personal": ("systemApis", "packagePermissions", "feed", "feedGroup")}


#: ``ApiKeyInfo``'s wire names (spec §2), in the order answers list them, beside the
#: :class:`~mockproget.models.ApiKey` attributes they render.
WIRE_NAMES = (("id", "id"), ("type", "type"), ("key", "key"), ("displayName", "display_name"),
              ("description", "description"), ("systemApis", "system_apis"),
              ("packagePermissions", "package_permissions"), ("feed", "feed"),
              ("feedGroup", "feed_group"), ("expiration", "expiration"), ("logging", "logging"),
              ("user", "user"))


_IN = ApiKeyInfoIn()


def _flatten(messages: Any, prefix: str = "") -> list[str]:
    """marshmallow's nested error dict -> ``name: problem`` lines."""
    if isinstance(messages, dict):
        lines = []
        for name, inner in messages.items():
            label = prefix if name == "_schema" else (f"{prefix}[{name}]" if isinstance(name, int)
                                                      else (f"{prefix}.{name}" if prefix else str(name)))
            lines.extend(_flatten(inner, label))
        return lines
    if isinstance(messages, list):
        return [line for item in messages for line in _flatten(item, prefix)]
    return [f"{prefix}: {messages}" if prefix else str(messages)]


def parse_json(body: bytes) -> Any:
    """Decode a request body as JSON, or raise :class:`InvalidInput` saying why."""
    if not body.strip():
        raise InvalidInput(["the request body is empty; expected an ApiKeyInfo JSON object"])
    try:
        return json.loads(body.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise InvalidInput(["the request body is not UTF-8 text"]) from None
    except RecursionError:
        raise InvalidInput(["the request body's JSON is nested too deeply"]) from None
    except ValueError as error:
        raise InvalidInput([f"the request body is not valid JSON ({error})"]) from None


class _FoldedIn(ApiKeyInfoIn):
    """:class:`ApiKeyInfoIn` for a body whose names :func:`load_new_api_key` has folded."""

    def _fold_names(self, data: Any, **kwargs: Any) -> Any:  # no pre_load hook here: done
        return data


@functools.lru_cache(maxsize=64)
def _schema_for(names: frozenset[str]) -> ApiKeyInfoIn:
    """The schema that loads the properties ``names`` (and the required ones): marshmallow
    walks every field a schema has, given or not, so a body with three properties costs
    three fields' work, not all of ``ApiKeyInfo``'s. The rules are the same schema's."""
    return _FoldedIn(only=tuple(name for name in ApiKeyInfoIn._declared_fields if name in names or name in _REQUIRED))


_REQUIRED = frozenset(name for name, field in ApiKeyInfoIn._declared_fields.items() if field.required)


def _plain_form(field: fields.Field[Any]) -> tuple[str, Mapping[str, str] | None, bool]:
    """How :func:`_plain_load` reads a property: its form, the spellings of its enum
    values (folded to canonical), whether null is allowed."""
    if isinstance(field, Choice):
        return "choice", field.choices, field.allow_none
    if isinstance(field, Text):
        return "text", None, field.allow_none
    if isinstance(field, fields.List) and isinstance(field.inner, Choice):
        return "choices", field.inner.choices, field.allow_none
    return "judged", None, field.allow_none  # a date-time: always the schema's to read


_PLAIN_FORMS = {name: _plain_form(field) for name, field in _IN.fields.items()}


def _plain_load(folded: dict[str, Any]) -> dict[str, Any] | None:
    """What the schema loads from ``folded`` when the body is valid and every value has
    its plainest form (text for a text or enum property, a list of texts for a list of
    enums, null where null is allowed), read as the schema's fields read them; ``None``
    in every other case, for the schema to judge and word the problems.

    The common create body costs a few dictionary lookups here, where marshmallow's
    per-field machinery costs several times that (issue 7 §4); tests/test_schema_subsets.py
    checks, over generated bodies valid and not, that whatever this loads is what the
    whole schema loads."""
    if not _REQUIRED <= folded.keys():
        return None
    loaded: dict[str, Any] = {}
    for name, value in folded.items():
        form, choices, nullable = _PLAIN_FORMS[name]
        if value is None:
            if not nullable:
                return None
            loaded[name] = None
        elif form == "choice":
            canonical = choices.get(fold_case(value)) if choices and value.__class__ is str else None
            if canonical is None:
                return None
            loaded[name] = canonical
        elif form == "text":
            if value.__class__ is not str or not _is_unicode(value):
                return None
            loaded[name] = value
        elif form == "choices" and value.__class__ is list and choices:
            items = [choices.get(fold_case(item)) if item.__class__ is str else None for item in value]
            if None in items:
                return None
            loaded[name] = items
        else:
            return None
    return None if per_type_problems(loaded) else loaded


def load_new_api_key(data: Any) -> NewApiKey:
    """Validate a decoded ``ApiKeyInfo``; :class:`InvalidInput` lists every problem."""
    try:
        folded = _IN._fold_names(data)  # case-insensitive names, duplicates refused
        loaded = _plain_load(folded)
        if loaded is None:
            loaded = _schema_for(frozenset(folded)).load(folded)
    except ValidationError as error:
        messages = error.messages if error.field_name == SCHEMA else {error.field_name: error.messages}
        raise InvalidInput(_flatten(messages)) from None
    return NewApiKey(
        type=loaded["type"],
        logging=loaded["logging"],
        key=loaded.get("key"),
        display_name=loaded.get("displayName") or None,
        description=loaded.get("description") or None,
        system_apis=_unique(loaded.get("systemApis")),
        package_permissions=_unique(loaded.get("packagePermissions")),
        feed=loaded.get("feed"),
        feed_group=loaded.get("feedGroup"),
        expiration=loaded.get("expiration"),
        user=loaded.get("user"),
    )


def dump_api_key(key: ApiKey, *, text: str | None = None) -> dict[str, Any]:
    """The wire form of a stored key (spec §2, §6): camelCase names, lists for the API
    and permission sets, ISO 8601 for the expiration, nulls left out; ``text`` adds the
    key text (create's answer). A plain rendering: the stored key was validated on the
    way in, so nothing here can fail."""
    data: dict[str, Any] = {}
    for wire, attribute in WIRE_NAMES:
        value = getattr(key, attribute)
        if value is None:
            continue
        if isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, datetime):
            value = value.isoformat()
        data[wire] = value
    if text is not None:
        data["key"] = text
    return data
