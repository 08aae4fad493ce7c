import sys

from worktrack.cli import main

sys.exit(main())
