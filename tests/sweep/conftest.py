"""Keep every in-process Ray of these tests on the loopback interface.

Ray reads ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER`` once, when it is first imported; set before any
test module imports it (otherwise Ray advertises the host's routable IP).
"""

from __future__ import annotations

import os

os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
