"""The resource model: CRD specs, ResourceKey, constants, status enums and the error tree.

This package does no I/O.
"""
