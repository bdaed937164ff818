"""``python -m image_dynamics.cli``: the same as the ``image-dynamics`` command."""

import sys

from . import main

sys.exit(main())
