"""``python -m galaxy_xai`` runs the CLI."""

import sys

from galaxy_xai.cli import main

sys.exit(main())
