"""Put this checkout on ``sys.path`` so scripts can import ``training/``, which is never installed.

Scripts run as ``python scripts/x.py`` have ``scripts/`` on the path, not the repository root;
``import _checkout`` before the first ``training`` import fixes that.
"""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
