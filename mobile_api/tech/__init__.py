"""The technician app's endpoints (/tech/...)."""

from mobile_api.tech.orders import blp

__all__ = ["blp"]
