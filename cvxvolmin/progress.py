"""Progress bars that appear only on a terminal (tqdm, an optional extra)."""

from __future__ import annotations

import sys


def terminal_bar(enabled: bool = True, **options):
    """A ``tqdm`` bar on stderr when it is a terminal, else None.

    None too when ``enabled`` is false or tqdm is not installed: the bar is a
    courtesy, never a requirement. ``options`` go to ``tqdm``.
    """
    if not (enabled and sys.stderr.isatty()):
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(file=sys.stderr, **options)
