"""``python -m expfam``: the command line (``expfam.cli``)."""

import sys

from expfam.cli import main

if __name__ == "__main__":
    sys.exit(main())
