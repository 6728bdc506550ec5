"""python -m memsim"""

import sys

from memsim.cli.main import main

sys.exit(main())
