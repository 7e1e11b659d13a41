"""The proxy and CA-bundle variables a platform's runners set are honoured (read once per client)."""

from __future__ import annotations

import pytest

from imagepipe.azure.target import pooled_transport


def test_a_proxy_from_the_environment_is_used_for_azure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    transport = pooled_transport("https://management.azure.com", None)
    assert transport.session.proxies.get("https") == "http://proxy.corp:3128"


def test_no_proxy_keeps_a_local_endpoint_direct(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    transport = pooled_transport("https://127.0.0.1:8443", "/tmp/ca.pem")
    assert not transport.session.proxies
    assert transport.connection_config.verify == "/tmp/ca.pem"


def test_the_ca_bundle_variable_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/corp-ca.pem")
    transport = pooled_transport("https://management.azure.com", None)
    assert transport.connection_config.verify == "/etc/corp-ca.pem"
