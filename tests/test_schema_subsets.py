"""Create bodies are loaded by a schema of only the properties they give (issue 7 §4: the
cost of a create is the fields it sends): the answer must be exactly what the whole
``ApiKeyInfo`` schema gives, for every body, valid or not (spec §2)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from mockproget.errors import InvalidInput
from mockproget.schemas import _IN, _flatten, load_new_api_key

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


@settings(max_examples=500, deadline=None)
@given(body=_bodies())
def test_a_body_loads_as_the_whole_schema_loads_it(body: Any) -> None:
    """Spec §2: the same key, or the same list of problems, as the whole schema."""
    expected = _whole_schema(body)
    try:
        loaded = load_new_api_key(body)
    except InvalidInput as error:
        assert isinstance(expected, list), (body, expected, error.problems)
        assert sorted(error.problems) == expected
        return
    assert isinstance(expected, dict), (body, expected, loaded)
    assert loaded.type == expected["type"] and loaded.logging == expected["logging"]
    assert loaded.expiration == expected.get("expiration") and loaded.user == expected.get("user")
    assert loaded.system_apis == (tuple(dict.fromkeys(expected["systemApis"]))
                                  if expected.get("systemApis") is not None else None)
