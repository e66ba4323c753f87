"""Development tokens: HS256 JWTs signed with the services' development key, minted with the standard library.

The services accept them only when they run with Auth:DevSigningKey (Development, DevHost, tests); in
Production they trust an identity provider instead, and a client gets its token from there.
"""
import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from typing import Iterable

# The well-known development key (public, so it protects nothing) from appsettings.Development.json.
DEVELOPMENT_KEY = "Y29udG9zby1yZXRhaWwtREVWRUxPUE1FTlQtT05MWS1zaWduaW5nLWtleS1uZXZlci1pbi1wcm9k"
DEFAULT_ISSUER = "contoso-retail-dev"
DEFAULT_AUDIENCE = "contoso-retail"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def dev_token(
    scopes: Iterable[str],
    subject: str = "python-client",
    lifetime_seconds: int = 3600,
    key: str | None = None,
    issuer: str = DEFAULT_ISSUER,
    audience: str = DEFAULT_AUDIENCE,
) -> str:
    """A JWT with sub, space-separated scope, iat/nbf/exp and a fresh jti, as `contoso-retail token` mints it.

    key is the base64 development key; default CONTOSO_RETAIL_DEV_SIGNING_KEY, else the well-known one.
    """
    secret = base64.b64decode(key or os.environ.get("CONTOSO_RETAIL_DEV_SIGNING_KEY") or DEVELOPMENT_KEY)
    now = int(time.time())
    header = {"alg": "HS256", "typ": "JWT"}
    claims = {
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "scope": " ".join(scopes),
        "iat": now,
        "nbf": now,
        "exp": now + lifetime_seconds,
        "jti": secrets.token_hex(16),
    }
    signing_input = ".".join(_b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims))
    signature = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{_b64url(signature)}"
