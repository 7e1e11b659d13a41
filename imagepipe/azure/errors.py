"""ARM error codes classified as retryable or fatal, and the one error type the engine sees.

The engine never inspects SDK exceptions: every call through an adapter turns an
``HttpResponseError`` into an ``AzureOperationError`` carrying the resource, the
operation, ARM's error code and Azure's own message, plus whether retrying can help.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from azure.core.exceptions import AzureError, HttpResponseError

from imagepipe.steps.port import ProviderError

T = TypeVar("T")

# Codes for which waiting and trying again is the right answer.
RETRYABLE_CODES: frozenset[str] = frozenset(
    {
        "TooManyRequests",
        "SubscriptionRequestsThrottled",
        "AnotherOperationInProgress",
        "OperationPreempted",
        "AllocationFailed",
        "ZonalAllocationFailed",
        "OverconstrainedAllocationRequest",
        "InternalExecutionError",
        "InternalServerError",
        "InternalOperationError",
        "ServiceUnavailable",
        "GatewayTimeout",
        "RetryableError",
        "ConcurrentDeploymentLimitExceeded",
        "GalleryImageVersionNotReplicated",
        "ResourceNotReady",
        "Conflict",  # generic 409 from a concurrent change of the same resource
        "ProvisioningFailed",  # Failed with no ARM error to say why (seen by listing): try again
    }
)

# Codes that retrying cannot fix: the request or the subscription must change.
FATAL_CODES: frozenset[str] = frozenset(
    {
        "InvalidParameter",
        "InvalidRequestContent",
        "BadRequest",
        "OperationNotAllowed",
        "PropertyChangeNotAllowed",
        "QuotaExceeded",
        "OperationNotAllowedQuotaExceeded",
        "RequestDisallowedByPolicy",
        "OSProvisioningTimedOut",
        "OSProvisioningClientError",
        "PlatformImageNotFound",
        "ImageNotFound",
        "NotFound",
        "ResourceNotFound",
        "ResourceGroupNotFound",
        "AuthorizationFailed",
        "InvalidAuthenticationToken",
        "LinkedAuthorizationFailed",
        "SkuNotAvailable",
        "VMRunCommandFailed",
        "InUseSubnetCannotBeDeleted",
        "NicInUse",
        "DiskInUse",
    }
)

TRANSIENT_STATUS: frozenset[int] = frozenset({408, 429, 500, 502, 503, 504})
# Server errors of a request (not of an operation's result) that the request retry policy
# (azure/target.py) has already retried before the error reaches the engine: azure-core retries
# them for every method, except 502 for POST and PATCH (not idempotent), which stays step-retried.
REQUEST_RETRIED_SERVER_ERRORS: frozenset[int] = frozenset({500, 502, 503, 504})
NOT_IDEMPOTENT_RETRIED: frozenset[int] = frozenset({500, 503, 504})


def _request_retried(exc: AzureError, status: int | None) -> bool:
    if status not in REQUEST_RETRIED_SERVER_ERRORS:
        return False
    request = getattr(getattr(exc, "response", None), "request", None)
    method = str(getattr(request, "method", "") or "").upper()
    return method not in ("POST", "PATCH") or status in NOT_IDEMPOTENT_RETRIED


def is_retryable(code: str | None, status: int | None = None) -> bool:
    """Whether an ARM failure is worth another attempt; unknown codes fall back on the status."""
    if code in FATAL_CODES:
        return False
    if code in RETRYABLE_CODES:
        return True
    return status in TRANSIENT_STATUS


class AzureOperationError(ProviderError):
    """One failed call to Azure: which resource, which operation, ARM's code and message."""

    def __init__(
        self,
        resource: str,
        operation: str,
        code: str | None,
        message: str,
        status: int | None = None,
        retryable: bool | None = None,
    ):
        retryable = is_retryable(code, status) if retryable is None else retryable
        super().__init__(resource, operation, code, message, status, retryable)

    @property
    def azure_message(self) -> str:
        return self.provider_message


def from_sdk(exc: AzureError, resource: str, operation: str) -> AzureOperationError:
    """Translate an azure-core exception into an AzureOperationError."""
    status = getattr(exc, "status_code", None)
    code: str | None = None
    message = str(getattr(exc, "message", "") or exc)
    err = getattr(exc, "error", None)
    if err is not None:
        code = getattr(err, "code", None) or code
        message = getattr(err, "message", None) or message
    if code is None and isinstance(exc, HttpResponseError) and exc.response is not None:
        code = exc.response.reason
    if code is None and status is None:
        code = type(exc).__name__  # a transport error: connection refused, TLS, timeout
        return AzureOperationError(resource, operation, code, message.splitlines()[0], None, True)
    first_line = message.splitlines()[0] if message else ""
    if _request_retried(exc, status):
        # azure-core's policy already tried this request again and again: a step-level retry would
        # multiply the wait (a full disk under the emulator took minutes to give up), not the odds.
        return AzureOperationError(resource, operation, code, first_line, status, retryable=False)
    return AzureOperationError(resource, operation, code, first_line, status)


@contextmanager
def translated(resource: str, operation: str) -> Iterator[None]:
    """Run SDK calls so that their failures surface as AzureOperationError."""
    try:
        yield
    except AzureOperationError:
        raise
    except AzureError as exc:
        raise from_sdk(exc, resource, operation) from None


def call(resource: str, operation: str, func: Callable[[], T]) -> T:
    with translated(resource, operation):
        return func()
