"""``python -m hpo_lab`` is the ``hpo-lab`` command."""

import sys

from hpo_lab.cli import main

sys.exit(main())
