"""``python -m hsibench``: the ``hsibench`` command (same arguments, same exit status)."""

import sys

from .cli import main

sys.exit(main())
