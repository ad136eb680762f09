"""The tenant mini-program's endpoints (/tenant/...)."""

from mobile_api.tenant.orders import blp

__all__ = ["blp"]
