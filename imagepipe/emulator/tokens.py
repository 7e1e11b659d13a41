"""Bearer tokens: HMAC-signed so that tokens survive a restart of the emulator."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from pathlib import Path

from imagepipe.emulator.statedir import write_private

TOKEN_LIFETIME = 3599
# Who ARM accepts tokens for (the resource of the scope the client asked for, no trailing slash).
ARM_AUDIENCES = frozenset({"https://management.azure.com", "https://management.core.windows.net"})


def audience_of(scope: str) -> str:
    """``https://management.azure.com/.default`` -> ``https://management.azure.com``."""
    first = scope.split()[0] if scope.split() else ""
    return first.removesuffix("/.default").rstrip("/")


KEY_FILE = "token.key"


class TokenIssuer:
    def __init__(self, state_dir: Path) -> None:
        key_path = state_dir / KEY_FILE
        if not key_path.exists():
            write_private(key_path, secrets.token_bytes(32))
        self._key = key_path.read_bytes()
        self._valid: dict[str, tuple[float, str]] = {}  # token -> (expiry, audience), skips the HMAC

    def issue(self, tenant: str, client_id: str, audience: str) -> tuple[str, int]:
        expires = int(time.time()) + TOKEN_LIFETIME
        payload = json.dumps(
            {"tid": tenant, "appid": client_id, "aud": audience, "exp": expires, "n": secrets.token_hex(4)}
        )
        body = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
        return f"emu.{body}.{self._sign(body)}", expires

    def check(self, token: str, audiences: frozenset[str] = ARM_AUDIENCES) -> bool:
        """True when the emulator issued `token` for one of `audiences` and it has not expired."""
        now = time.time()
        known = self._valid.get(token)
        if known is not None:
            return known[0] > now and known[1] in audiences
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != "emu" or not hmac.compare_digest(parts[2], self._sign(parts[1])):
            return False
        try:
            padded = parts[1] + "=" * (-len(parts[1]) % 4)
            claims = json.loads(base64.urlsafe_b64decode(padded))
            expiry, audience = float(claims["exp"]), str(claims["aud"])
        except (ValueError, KeyError, TypeError):
            return False
        if len(self._valid) > 10_000:
            self._valid.clear()
        self._valid[token] = (expiry, audience)
        return expiry > now and audience in audiences

    def _sign(self, body: str) -> str:
        return hmac.new(self._key, body.encode(), hashlib.sha256).hexdigest()[:43]
