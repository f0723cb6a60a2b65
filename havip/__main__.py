"""`python -m havip` runs the command line, like the `havip` script."""

import sys

from havip.cli import main

sys.exit(main())
