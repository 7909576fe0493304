"""Pure numba kernels (numpy + math only; never polars).

Public kernels end in ``_nb``; the Python wrappers elsewhere drop the suffix. All jit options
come from :mod:`dollarbill_research.kernels._jit`.
"""
