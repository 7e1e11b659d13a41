"""ARM error codes are classified as retryable or fatal from one table."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ServiceRequestError

from imagepipe.azure.errors import AzureOperationError, from_sdk, is_retryable


@pytest.mark.parametrize(
    "code",
    [
        "TooManyRequests",
        "AnotherOperationInProgress",
        "AllocationFailed",
        "InternalExecutionError",
        "ConcurrentDeploymentLimitExceeded",
    ],
)
def test_transient_codes_are_retryable(code: str) -> None:
    assert is_retryable(code)


@pytest.mark.parametrize(
    "code",
    [
        "InvalidParameter",
        "OperationNotAllowed",
        "PropertyChangeNotAllowed",
        "QuotaExceeded",
        "RequestDisallowedByPolicy",
        "OSProvisioningTimedOut",
    ],
)
def test_request_errors_are_fatal(code: str) -> None:
    assert not is_retryable(code, 409)


def test_unknown_codes_fall_back_on_the_status() -> None:
    assert is_retryable("SomethingNew", 503)
    assert not is_retryable("SomethingNew", 400)


def test_sdk_errors_become_one_located_error() -> None:
    err = from_sdk(HttpResponseError(message="boom"), "Microsoft.Compute/virtualMachines/web-00", "create")
    assert isinstance(err, AzureOperationError)
    assert "create Microsoft.Compute/virtualMachines/web-00" in str(err)


def test_transport_errors_are_retryable() -> None:
    err = from_sdk(ServiceRequestError("connection refused"), "resource group rg", "get")
    assert err.retryable and err.code == "ServiceRequestError"
