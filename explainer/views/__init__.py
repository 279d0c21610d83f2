"""Axes-level views: each takes a matplotlib ``Axes`` and a compute result and returns artists.

One module per lesson; nothing here imports the paint layer or the explorers.
"""

__all__: list[str] = []
