"""REST adapters over messaging.services and messaging.selectors (one module per resource)."""
