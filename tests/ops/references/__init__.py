"""Independent NumPy formulations of every op, one module per op family, merged into REFERENCES.

They never import the kernels: they are the second opinion the generated tests compare with."""

import importlib
import pkgutil

REFERENCES: dict = {}
for _info in pkgutil.iter_modules(__path__):
    _mod = importlib.import_module(f"{__name__}.{_info.name}")
    for _name, _fn in getattr(_mod, "REFERENCES", {}).items():
        assert _name not in REFERENCES, f"two references for {_name}"
        REFERENCES[_name] = _fn
