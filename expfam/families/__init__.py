"""The families: one module each, found and imported here, so adding a family is adding its file.

Every public ``ExponentialFamily`` subclass defined in a module of this package is exported
from here (and from ``expfam``).
"""

import importlib
import pkgutil

from expfam._core.family import ExponentialFamily

__all__: list[str] = []
for _module in pkgutil.iter_modules(__path__):
    _namespace = vars(importlib.import_module(f"{__name__}.{_module.name}"))
    for _name, _value in _namespace.items():
        if (
            isinstance(_value, type)
            and issubclass(_value, ExponentialFamily)
            and _value.__module__ == f"{__name__}.{_module.name}"
            and not _name.startswith("_")
            and _value.__dict__.get("catalogue")
        ):
            globals()[_name] = _value
            __all__.append(_name)
__all__.sort()
