"""Names a package exports without importing the modules that define them until they are used.

``import explainer`` (and ``explainer.explorers``, ``explainer.paint``) must stay cheap: torch,
matplotlib and ipywidgets load only when a name that needs them is first asked for.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: Mapping[str, str],
                 namespace: dict[str, Any]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module-level ``__getattr__`` and ``__dir__`` for ``package`` that import ``exports[name]`` on first use.

    Args:
        package: the package's ``__name__`` (for the error message).
        exports: ``{name: module that defines it}``.
        namespace: the package's ``globals()``; a loaded name is kept there.

    Example:
        >>> getattr_, dir_ = lazy_exports("demo", {"sqrt": "math"}, {})
        >>> getattr_("sqrt")(9.0), "sqrt" in dir_()
        (3.0, True)
    """

    def __getattr__(name: str) -> Any:  # noqa: N807 - the module protocol's name
        if name in exports:
            value = namespace[name] = getattr(importlib.import_module(exports[name]), name)
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:  # noqa: N807
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
