"""``python -m audit.cli``: the ``socialaudit`` command."""

import sys

from audit.cli import main

if __name__ == "__main__":  # not when a tool imports every module (benchmarks, docs)
    sys.exit(main())
