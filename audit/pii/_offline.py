"""Keep Presidio's dependencies off the network.

Two hidden downloads are switched off here (measured in ``shared/research/deps.md`` §2):

* ``AnalyzerEngine()`` without an NLP engine downloads ``en_core_web_lg``. This package never
  builds a bare engine: the spaCy model is an installed package, loaded by name.
* Presidio's e-mail and URL recognizers call ``tldextract.extract``, whose default extractor
  fetches the public-suffix list from the internet on first use, with no timeout, and writes a
  cache under ``~/.cache`` (read-only on Lambda). We swap in an extractor with no URLs and no
  cache: it uses the snapshot bundled with tldextract.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["ensure_offline"]

_DONE = False


def ensure_offline() -> None:
    """Configure tldextract for offline use (idempotent; call before importing presidio)."""
    global _DONE
    if _DONE:
        return
    # Read by tldextract when it builds its default extractor at import time.
    os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
    os.environ.setdefault("TLDEXTRACT_CACHE_TIMEOUT", "1")
    os.environ.setdefault(
        "TLDEXTRACT_CACHE", str(Path(tempfile.gettempdir()) / "socialaudit-tldextract")
    )
    import tldextract
    import tldextract.tldextract as tld

    # Whatever the environment said, the extractor Presidio calls fetches nothing.
    tld.TLD_EXTRACTOR = tldextract.TLDExtract(
        cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True
    )
    _DONE = True
