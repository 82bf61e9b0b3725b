"""Users, roles, tokens and the permission check every API route goes through.

Roles carry permissions (`central.auth.roles`); a caller is a `Principal` found from
its bearer token (`central.auth.service`); each route family names the permission it
needs (`central.auth.policy`). With no user and no `api_tokens` configured, central
runs open (rehearsals, a laptop): every caller is an anonymous admin, and the start
log and the console say so.
"""

from central.auth.roles import Permission, Role, permissions_of
from central.auth.service import AuthError, Principal

__all__ = ["AuthError", "Permission", "Principal", "Role", "permissions_of"]
