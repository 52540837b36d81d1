import sys

from rnntext.cli import main

sys.exit(main())
