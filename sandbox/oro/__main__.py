"""`python -m sandbox.oro`: same as `orosync sandbox oro`."""

import sys

from .cli import main

sys.exit(main(sys.argv[1:]))
