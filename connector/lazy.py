"""Names a module imports on first use, so that starting the CLI does not load every command.

``cli.py`` binds, say, ``prepare = lazy.names("sync.runner", "prepare")[0]``: the stand-in
imports ``sync.runner`` the first time it is called or an attribute of it is read, and then
behaves as the real object. Type checkers see the real import (under ``TYPE_CHECKING``).
Only for functions and for classes that are called or whose attributes are read: a stand-in
is no type, so ``isinstance`` and annotations need the real import.
"""

from __future__ import annotations

import importlib
from typing import Any


class _Deferred:
    __slots__ = ("_module", "_name", "_target")

    def __init__(self, module: str, name: str) -> None:
        self._module, self._name = module, name
        self._target: Any = None

    def _resolve(self) -> Any:
        if self._target is None:
            self._target = getattr(importlib.import_module(self._module), self._name)
        return self._target

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._resolve()(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._resolve(), name)

    def __repr__(self) -> str:
        return f"<deferred {self._module}.{self._name}>"


def names(module: str, *names: str) -> tuple[Any, ...]:
    """Stand-ins for ``module``'s ``names``, in that order; ``module`` is imported on first use."""
    return tuple(_Deferred(module, name) for name in names)


class _DeferredModule:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(importlib.import_module(self._name), attribute)

    def __repr__(self) -> str:
        return f"<deferred module {self._name}>"


def module(name: str) -> Any:
    """A stand-in for module ``name``: imported when one of its attributes is first read."""
    return _DeferredModule(name)
