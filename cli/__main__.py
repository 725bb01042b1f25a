import sys

from dyn.cli import main

sys.exit(main())
