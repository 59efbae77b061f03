"""``python -m lab.cli``: the same as ``qdlab``."""

import sys

from lab.cli import main

sys.exit(main())
