"""The identity side: OIDC discovery, the client-credentials token endpoint, cloud metadata."""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.responses import JSONResponse

from imagepipe.emulator.ids import CLIENT_ID, TENANT_ID
from imagepipe.emulator.tokens import TOKEN_LIFETIME, TokenIssuer, audience_of

AUDIENCES = ["https://management.core.windows.net/", "https://management.azure.com/"]


def openid_configuration(base_url: str, tenant: str) -> JSONResponse:
    root = f"{base_url}/{tenant}"
    return JSONResponse(
        {
            "issuer": f"{root}/v2.0",
            "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
            "token_endpoint": f"{root}/oauth2/v2.0/token",
            "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
            "jwks_uri": f"{root}/discovery/v2.0/keys",
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "grant_types_supported": ["client_credentials"],
            "tenant_region_scope": None,
            "cloud_instance_name": "imagepipe.emulator",
        }
    )


def _oauth_error(status: int, error: str, description: str, code: int) -> JSONResponse:
    return JSONResponse(
        {
            "error": error,
            "error_description": description,
            "error_codes": [code],
            "timestamp": "",
            "trace_id": "",
            "correlation_id": "",
        },
        status_code=status,
    )


def token(issuer: TokenIssuer, client_secret: str, tenant: str, raw_body: bytes) -> JSONResponse:
    """Client credentials only: the emulator's one service principal, checked by its secret."""
    if tenant.lower() != TENANT_ID:
        return _oauth_error(
            400,
            "invalid_request",
            f"AADSTS90002: Tenant '{tenant[:64]}' not found. Check to make sure you have the correct tenant ID "
            "and are signing into the correct cloud.",
            90002,
        )
    form = {k: v[0] for k, v in parse_qs(raw_body.decode("utf-8", "replace")).items()}
    if form.get("grant_type") != "client_credentials":
        return _oauth_error(
            400, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.", 70003
        )
    if form.get("client_id") != CLIENT_ID:
        return _oauth_error(
            400,
            "unauthorized_client",
            f"AADSTS700016: Application with identifier '{form.get('client_id')}' was not found in the directory '{tenant}'.",
            700016,
        )
    if form.get("client_secret") != client_secret:
        return _oauth_error(
            401,
            "invalid_client",
            f"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client "
            f"secret value, not the client secret ID, for a secret added to app '{CLIENT_ID}'.",
            7000215,
        )
    # The token is for the resource the scope names; ARM refuses tokens for any other.
    access_token, _ = issuer.issue(tenant, CLIENT_ID, audience_of(form.get("scope", "")))
    return JSONResponse(
        {
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME,
            "ext_expires_in": TOKEN_LIFETIME,
            "access_token": access_token,
        },
        headers={"Cache-Control": "no-store"},
    )


def cloud_metadata(base_url: str) -> JSONResponse:
    """What `az cloud register --endpoint-resource-manager` reads from /metadata/endpoints."""
    return JSONResponse(
        {
            "name": "ImagepipeEmulator",
            "resourceManager": f"{base_url}/",
            "authentication": {
                "loginEndpoint": f"{base_url}/",
                "audiences": AUDIENCES,
                "tenant": "common",
                "identityProvider": "AAD",
            },
            "suffixes": {
                "storage": "core.windows.net",
                "keyVaultDns": "vault.azure.net",
                "acrLoginServer": "azurecr.io",
                "sqlServerHostname": "database.windows.net",
            },
            "portal": f"{base_url}/",
            "gallery": f"{base_url}/",
            "graph": f"{base_url}/",
            "graphAudience": f"{base_url}/",
            "sqlManagement": f"{base_url}/",
            "batch": f"{base_url}/",
            "media": f"{base_url}/",
            "activeDirectoryDataLake": f"{base_url}/",
            "microsoftGraphResourceId": f"{base_url}/",
            "logAnalyticsResourceId": f"{base_url}/",
            "appInsightsResourceId": f"{base_url}/",
            "ossrdbmsResourceId": f"{base_url}/",
            "synapseAnalyticsResourceId": f"{base_url}/",
            "vmImageAliasDoc": f"{base_url}/_emulator/aliases.json",
        }
    )
