"""Emulated vendors, one module each (mirroring ``reverse_etl/destinations/``). Importing the
package loads and registers every module."""

from __future__ import annotations

import importlib
import pkgutil

from reverse_etl.emulator.vendors.base import VENDORS, Request, Vendor, vendor_name

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["VENDORS", "Request", "Vendor", "vendor_name"]
