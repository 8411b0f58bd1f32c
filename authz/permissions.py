"""Tier 1 of authorization: may this user call this route with this method."""

import logging

from rest_framework.permissions import BasePermission

from authz.enforcer import pin_request_state
from authz.services import authz_check

logger = logging.getLogger(__name__)

# Standard "amr" (authentication methods) claim value for multi-factor sign-in,
# RFC 8176. Roles that require MFA count only when the access token carries it.
MFA_METHOD = "mfa"


def token_has_mfa(token) -> bool:
    if token is None or not hasattr(token, "get"):
        return False
    methods = token.get("amr") or []
    return isinstance(methods, (list, tuple)) and MFA_METHOD in methods


class IsAllowedRoute(BasePermission):
    """Allow the request when the caller's rules allow its method on its path.

    HEAD is judged as GET. It runs after IsAuthenticated, so an anonymous
    caller still gets 401 rather than 403. A method the view does not serve
    passes here, so every caller gets the view's 404 "Not Found" response.
    """

    message = "Not Authorized"

    def has_permission(self, request, view) -> bool:
        user = request.user
        if user is None or not user.is_authenticated:
            return False
        if request.method.upper() not in view.allowed_methods:
            return True
        pin_request_state(user, mfa_authenticated=token_has_mfa(request.auth))
        action = "GET" if request.method == "HEAD" else request.method
        obj = {"object__type": "api", "route__path": request.path}
        return authz_check(user=user, obj=obj, action=action)
