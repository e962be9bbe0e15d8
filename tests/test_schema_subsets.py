"""Create bodies are loaded by a schema of only the properties they give (issue 7 §4: the
cost of a create is the fields it sends): the answer must be exactly what the whole
``ApiKeyInfo`` schema gives, for every body, valid or not (spec §2)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from mockproget.errors import InvalidInput
from mockproget.models import NewApiKey
from mockproget.schemas import _IN, _flatten, _plain_load, load_new_api_key

_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "type": st.sampled_from(["system", "feed", "personal", "other", "SYSTEM", "bogus", 3, None]),
    "key": st.one_of(st.none(), st.text(max_size=8), st.integers()),
    "displayName": st.one_of(st.none(), st.text(max_size=8), st.booleans()),
    "description": st.one_of(st.none(), st.text(max_size=8)),
    "systemApis": st.one_of(st.none(), st.lists(st.sampled_from(["sca", "feeds", "full-control", "x", 1]), max_size=3),
                            st.text(max_size=3)),
    "packagePermissions": st.one_of(st.none(), st.lists(st.sampled_from(["view", "add", "Promote", "nope"]),
                                                        max_size=3)),
    "feed": st.one_of(st.none(), st.sampled_from(["", "f", "npm-feed"])),
    "feedGroup": st.one_of(st.none(), st.sampled_from(["", "g"])),
    "expiration": st.one_of(st.none(), st.sampled_from(["2030-01-01T00:00:00", "2030-01-01T00:00:00+05:00",
                                                        "not a date", "0001-01-01T00:00:00+05:00"]), st.integers()),
    "logging": st.sampled_from(["none", "Both", "request", "x", None]),
    "user": st.one_of(st.none(), st.sampled_from(["", "Admin", "bob"])),
    "id": st.integers(),
    "API_Key": st.text(max_size=4),
}


@st.composite
def _bodies(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 20)) == 0:
        return draw(st.one_of(st.lists(st.integers(), max_size=2), st.text(max_size=3), st.none()))
    names = draw(st.lists(st.sampled_from(sorted(_VALUES)), unique=True, max_size=len(_VALUES)))
    body: dict[str, Any] = {}
    for name in names:
        spelled = draw(st.sampled_from([name, name.lower(), name.upper()]))
        body[spelled] = draw(_VALUES[name])
    if names and draw(st.booleans()):  # the same property twice, in another case
        body[names[0].swapcase()] = draw(_VALUES[names[0]])
    return body


def _whole_schema(data: Any) -> object:
    """What the whole schema answers: the loaded fields, or the problems it lists."""
    try:
        return _IN.load(data)
    except ValidationError as error:
        return sorted(_flatten(error.messages))


def _as_new_key(loaded: dict[str, Any]) -> NewApiKey:
    """The key the whole schema's loaded fields make, as load_new_api_key builds it."""
    def unique(values: Any) -> Any:
        return None if values is None else tuple(dict.fromkeys(values))

    return NewApiKey(type=loaded["type"], logging=loaded["logging"], key=loaded.get("key"),
                     display_name=loaded.get("displayName") or None,
                     description=loaded.get("description") or None,
                     system_apis=unique(loaded.get("systemApis")),
                     package_permissions=unique(loaded.get("packagePermissions")),
                     feed=loaded.get("feed"), feed_group=loaded.get("feedGroup"),
                     expiration=loaded.get("expiration"), user=loaded.get("user"))


def _agrees_with_the_whole_schema(body: Any) -> None:
    expected = _whole_schema(body)
    try:
        loaded = load_new_api_key(body)
    except InvalidInput as error:
        assert isinstance(expected, list), (body, expected, error.problems)
        assert sorted(error.problems) == expected
        return
    assert isinstance(expected, dict), (body, expected, loaded)
    assert loaded == _as_new_key(expected), body


@settings(max_examples=500, deadline=None)
@given(body=_bodies())
def test_a_body_loads_as_the_whole_schema_loads_it(body: Any) -> None:
    """Spec §2: the same key, or the same list of problems, as the whole schema."""
    _agrees_with_the_whole_schema(body)


def _spelled(value: str) -> st.SearchStrategy[str]:
    return st.sampled_from([value, value.upper(), value.title(), value.swapcase()])


_TEXT = st.one_of(st.text(min_size=1, max_size=6), st.just("\ud800"), st.just(""))


@st.composite
def _nearly_valid_bodies(draw: st.DrawFn) -> dict[str, Any]:
    """Bodies of each key type as clients send them, most of them valid, some one step
    off (an enum value misspelled, a lone surrogate, a number, a null, a wrong type)."""
    kind = draw(st.sampled_from(["system", "feed", "personal"]))
    body: dict[str, Any] = {"type": draw(_spelled(kind)), "logging": draw(_spelled(
        draw(st.sampled_from(["none", "request", "response", "both"]))))}
    if kind == "system":
        body["systemApis"] = draw(st.one_of(
            st.lists(st.sampled_from(["sca", "feeds", "sbom-upload"]).flatmap(_spelled), min_size=1, max_size=3),
            st.just(["full-control"]), st.just(["FULL-CONTROL", "sca"])))
    elif kind == "feed":
        body["packagePermissions"] = draw(st.lists(
            st.sampled_from(["view", "add", "promote", "delete"]).flatmap(_spelled), min_size=1, max_size=4))
        body[draw(st.sampled_from(["feed", "feedGroup"]))] = draw(_TEXT)
    else:
        body["user"] = draw(_TEXT)
    for name in draw(st.lists(st.sampled_from(["key", "displayName", "description", "expiration"]),
                              unique=True, max_size=3)):
        body[name] = draw(st.one_of(st.none(), _TEXT) if name != "expiration" else
                          st.one_of(st.none(), st.just("2030-01-01T00:00:00")))
    if draw(st.integers(0, 4)) == 0:  # one step off
        name = draw(st.sampled_from(sorted(body)))
        body[name] = draw(st.one_of(st.none(), st.integers(), st.just("nope"), st.just(["nope"]),
                                    st.just({"a": 1}), st.just([1]), st.booleans()))
    return {draw(st.sampled_from([name, name.lower(), name.upper()])): value for name, value in body.items()}


@settings(max_examples=800, deadline=None)
@given(body=_nearly_valid_bodies())
def test_the_plain_reading_agrees_with_the_whole_schema(body: dict[str, Any]) -> None:
    """issue 7 §4: the valid common body is read without marshmallow's per-field
    machinery (``_plain_load``); whatever that reads, and whatever it leaves to the
    schema, the answer is the whole schema's (spec §2)."""
    _agrees_with_the_whole_schema(body)
    plain = _plain_load(_IN._fold_names(body))
    if plain is not None:  # what it read, the whole schema reads the same way
        assert _as_new_key(plain) == _as_new_key(_IN.load(body))


@pytest.mark.parametrize("body", [
    {"type": "system", "systemApis": ["sca"], "logging": "none"},
    {"Type": "FEED", "packagePermissions": ["View", "add"], "feed": "npm", "logging": "Both", "id": 3},
    {"type": "personal", "user": "bob", "logging": "none", "displayName": None, "key": "a-key-text"},
])
def test_the_common_bodies_take_the_plain_reading(body: dict[str, Any]) -> None:
    """The plain reading is taken for what clients send (else the property above checks
    nothing): pgutil's bodies of each key type."""
    assert _plain_load(_IN._fold_names(body)) is not None


@pytest.mark.parametrize("body", [
    {"type": "system", "systemApis": ["sca"], "logging": "none", "expiration": "2030-01-01T00:00:00"},
    {"type": "system", "systemApis": ["sca"], "logging": "none", "key": "\ud800"},
    {"type": "system", "systemApis": ["sca", 1], "logging": "none"},
    {"type": "system", "systemApis": ["sca"]},
    {"type": "system", "systemApis": ["sca"], "logging": "none", "user": "bob"},
    {"type": "system", "systemApis": "sca", "logging": "none"},
])
def test_the_schema_judges_the_rest(body: dict[str, Any]) -> None:
    """A date-time, a lone surrogate, a wrong item, a missing required property, a
    per-type problem, a text for a list: marshmallow's to read and word."""
    assert _plain_load(_IN._fold_names(body)) is None
