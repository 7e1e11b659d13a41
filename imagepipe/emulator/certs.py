"""The emulator's private CA and TLS server certificate, made once per state directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import trustme

from imagepipe.emulator.statedir import write_private

CA_FILE = "ca.pem"
CERT_FILE = "server.pem"  # certificate chain followed by the private key
HOSTS = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True)
class TlsFiles:
    ca_file: Path
    cert_file: Path


def ensure_certificates(state_dir: Path) -> TlsFiles:
    """Reuse the CA and server certificate in `state_dir`, or make them the first time."""
    ca_path = state_dir / CA_FILE
    cert_path = state_dir / CERT_FILE
    if not (ca_path.exists() and cert_path.exists()):
        ca = trustme.CA(organization_name="imagepipe emulator")
        server = ca.issue_cert(*HOSTS)
        chain = b"".join(blob.bytes() for blob in server.cert_chain_pems)
        write_private(ca_path, ca.cert_pem.bytes())
        write_private(cert_path, chain + server.private_key_pem.bytes())
    return TlsFiles(ca_file=ca_path, cert_file=cert_path)
