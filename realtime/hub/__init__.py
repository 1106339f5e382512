"""The process's hub (see ``realtime.hub.hub``) and the way to reach the running loop's instance."""

from realtime.hub.hub import Hub
from realtime.hub.registry import Socket
from realtime.hub.running import HubStarter, get_hub, stop_hub

__all__ = ["Hub", "HubStarter", "Socket", "get_hub", "stop_hub"]
