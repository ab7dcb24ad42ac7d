import sys

from promptdaw.cli import main

sys.exit(main())
