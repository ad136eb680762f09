"""What a role is: a name, permissions from the catalogue, and a data scope.

Pure Python. A user's grant is the union of what their fixed roles (presets) and their
organisation's roles give them: permissions add up, and so do communities; a preset desk role
or a role over all communities sees every community.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from server.kernel.permissions import Permission, preset_permissions
from server.kernel.values import values_of

NAME_MAX = 50
DESCRIPTION_MAX = 200
# A role naming more communities than this is better written as "all communities".
COMMUNITIES_MAX = 500

# The catalogue's codes in its order: the CHECK, the schemas and the document use this tuple.
PERMISSION_CODES = values_of(Permission)
KNOWN_PERMISSIONS = frozenset(PERMISSION_CODES)


@dataclass(frozen=True)
class RoleTerms:
    """One role's permissions and scope (None: every community of the organisation)."""

    permissions: frozenset[str]
    communities: frozenset[int] | None


@dataclass(frozen=True)
class Grant:
    """What a caller may do: permissions, and the communities whose data they reach
    (None: all of the organisation's)."""

    permissions: frozenset[str]
    communities: frozenset[int] | None

    def allows(self, permission: str) -> bool:
        return permission in self.permissions

    def reaches(self, community_id: int | None) -> bool:
        return self.communities is None or community_id in self.communities


def grant_of(preset_roles: Iterable[str], roles: Iterable[RoleTerms]) -> Grant:
    """The union of the presets' and the roles' permissions and scopes."""
    permissions = set(preset_permissions(frozenset(preset_roles)))
    communities: set[int] | None = None if permissions else set()
    for terms in roles:
        permissions.update(terms.permissions & KNOWN_PERMISSIONS)
        if communities is None:
            continue
        if terms.communities is None:
            communities = None
        else:
            communities.update(terms.communities)
    if not permissions:
        communities = None  # nothing to scope
    return Grant(frozenset(permissions), None if communities is None else frozenset(communities))


def unknown_permissions(permissions: Iterable[str]) -> list[str]:
    """The names among `permissions` the catalogue does not have, sorted."""
    return sorted(set(permissions) - KNOWN_PERMISSIONS)
