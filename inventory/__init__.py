"""The province's source of truth: typed records, address plans, validation, exports.

    from hatang.inventory import load
    inv = load(env="lab")   # raises InventoryError listing every problem
"""

from hatang.inventory.load import load

__all__ = ["load"]
