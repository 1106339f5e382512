"""Identity of this server process, shared by the hub (to skip its own echoes) and presence."""

from __future__ import annotations

import os
import socket
import uuid

# Random part: a restarted process with a recycled pid must not inherit a dead one's presence entries.
PROCESS_ID = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
