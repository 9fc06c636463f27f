"""``lazy_import``: the module loads at the first attribute access and takes the stand-in's
place in the importer's globals, so later accesses are plain module attributes."""

from __future__ import annotations

import types

from mbtorch.core._lazy import lazy_import


def test_first_access_imports_and_rebinds():
    namespace: dict = {}
    namespace["js"] = stand_in = lazy_import("json", namespace, "js")
    assert isinstance(stand_in, types.ModuleType) and namespace["js"] is stand_in
    assert stand_in.dumps([1]) == "[1]"
    import json

    assert namespace["js"] is json  # rebound: no stand-in left on the path
    assert stand_in.loads("2") == 2  # a kept reference still works


def test_a_rebound_name_is_left_alone():
    namespace: dict = {}
    stand_in = lazy_import("json", namespace, "js")
    namespace["js"] = "something else"
    stand_in.dumps(1)
    assert namespace["js"] == "something else"
