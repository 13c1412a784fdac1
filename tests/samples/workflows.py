"""Imports every sample module of this package, so a worker process registers all their definitions.

durableflows imports each installed app's ``workflows`` module at startup; the samples live one per
module, so this one loads them all (test modules and fixtures aside).
"""

import importlib
import pkgutil

from . import __path__ as _package_path

for _module in pkgutil.iter_modules(_package_path):
    if not _module.name.startswith(("test_", "conftest", "apps", "workflows")):
        importlib.import_module(f"{__package__}.{_module.name}")
