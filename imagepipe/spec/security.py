"""The security type of every VM a spec set makes, and the VM security types each image can boot.

Azure's rules (docs/spec-language.md, "Security types"): a new Gen2 VM without a securityType is
Trusted Launch, a Gen1 VM Standard; a managed image holds only a Standard VM, so a Trusted Launch
source is captured straight into a gallery image definition with the SecurityType feature
TrustedLaunch, which then makes only Trusted Launch VMs; a Gen2 Standard source's definition is
TrustedLaunchSupported (Azure's default), which makes both; a specialized capture keeps its
source's type. ``None`` means unknown until the plan reads it (an ``existing: true`` source).
"""

from __future__ import annotations

from collections.abc import Mapping

from imagepipe.spec.images import is_capture_ref, marketplace_architecture, marketplace_generation
from imagepipe.spec.model import AnyDocument, Capture, Deployment, SourceVHD, SourceVM

STANDARD, TRUSTED_LAUNCH = "Standard", "TrustedLaunch"
Documents = Mapping[str, AnyDocument]


def default_type(allowed: frozenset[str], generation: str) -> str:
    """Azure's default: Trusted Launch for Gen2 when the image supports it."""
    return TRUSTED_LAUNCH if generation == "V2" and TRUSTED_LAUNCH in allowed else STANDARD


def image_generation(docs: Documents, image: str, seen: frozenset[str] = frozenset()) -> str | None:
    if not is_capture_ref(image):
        return marketplace_generation(image)
    capture = docs.get(image)
    if not isinstance(capture, Capture) or image in seen:
        return None
    return source_generation(docs, docs.get(capture.source), seen | {image})


def source_generation(
    docs: Documents, source: AnyDocument | None, seen: frozenset[str] = frozenset()
) -> str | None:
    if isinstance(source, SourceVHD):
        return "V1"  # an image or disk imported from a VHD is Gen1 unless told
    if isinstance(source, SourceVM) and source.create is not None:
        return image_generation(docs, source.create.image, seen)
    return None


def image_allows(docs: Documents, image: str, seen: frozenset[str] = frozenset()) -> frozenset[str] | None:
    """The VM security types `image` (a marketplace image or Capture/x) can boot."""
    if not is_capture_ref(image):
        gen2 = marketplace_generation(image) == "V2"
        return frozenset({STANDARD, TRUSTED_LAUNCH}) if gen2 else frozenset({STANDARD})
    capture = docs.get(image)
    if not isinstance(capture, Capture) or image in seen:
        return None
    return capture_allows(docs, capture, seen | {image})


def capture_allows(
    docs: Documents, capture: Capture, seen: frozenset[str] = frozenset()
) -> frozenset[str] | None:
    source = docs.get(capture.source)
    if isinstance(source, SourceVHD):
        return frozenset({STANDARD})
    kind = source_type(docs, source, seen) if isinstance(source, SourceVM) else None
    if kind is None:
        return None
    if capture.type == "specialized" or kind == TRUSTED_LAUNCH:
        return frozenset({kind})  # restored disks keep it; a TrustedLaunch definition makes only it
    gen2 = source_generation(docs, source, seen) == "V2"
    return frozenset({STANDARD, TRUSTED_LAUNCH}) if gen2 else frozenset({STANDARD})


def source_type(docs: Documents, source: SourceVM, seen: frozenset[str] = frozenset()) -> str | None:
    """The security type a created source VM will have; for an existing one, what the spec declares
    (checked at plan time), else None (read at plan time)."""
    if source.create is None:
        return source.security_type
    if source.create.security_type:
        return source.create.security_type
    allowed = image_allows(docs, source.create.image, seen)
    generation = image_generation(docs, source.create.image, seen)
    if allowed is None or generation is None:
        return None
    return default_type(allowed, generation)


def deployment_type(docs: Documents, deployment: Deployment) -> str | None:
    if deployment.security_type:
        return deployment.security_type
    capture = docs.get(deployment.image)
    if not isinstance(capture, Capture):
        return None
    allowed = capture_allows(docs, capture)
    generation = source_generation(docs, docs.get(capture.source))
    if allowed is None or generation is None:
        return None
    return default_type(allowed, generation)


def holds_in_managed_image(docs: Documents, source: AnyDocument | None) -> bool:
    """False when the source will be a Trusted Launch or an Arm64 VM (unknown sources are checked
    at plan time)."""
    if not isinstance(source, SourceVM):
        return True
    return source_type(docs, source) in (None, STANDARD) and source_architecture(docs, source) == "x64"


def image_architecture(docs: Documents, image: str, seen: frozenset[str] = frozenset()) -> str:
    if not is_capture_ref(image):
        return marketplace_architecture(image)
    capture = docs.get(image)
    if not isinstance(capture, Capture) or image in seen:
        return "x64"
    return source_architecture(docs, docs.get(capture.source), seen | {image})


def source_architecture(
    docs: Documents, source: AnyDocument | None, seen: frozenset[str] = frozenset()
) -> str:
    if isinstance(source, SourceVM) and source.create is not None:
        return image_architecture(docs, source.create.image, seen)
    return "x64"


def definition_security(docs: Documents, capture: Capture) -> str | None:
    """The SecurityType feature of the gallery image definition imagepipe creates for `capture`."""
    source = docs.get(capture.source)
    if isinstance(source, SourceVM) and source_type(docs, source) == TRUSTED_LAUNCH:
        return "TrustedLaunch"
    if source_generation(docs, source) == "V2":
        return "TrustedLaunchSupported"
    return None


def why_default(docs: Documents, source: SourceVM) -> str:
    """How a source came to be Trusted Launch, for messages."""
    if source.create is None or source.create.security_type:
        return "securityType: TrustedLaunch"
    return "Gen2 default"
