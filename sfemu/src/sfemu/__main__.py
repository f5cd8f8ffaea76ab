"""`python -m sfemu ...` is the same as the `sfemu` console script."""
import sys

from sfemu.cli import main

sys.exit(main())
