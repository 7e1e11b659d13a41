"""A scale set's health signal: a load balancer health probe or the Application Health extension.

Azure refuses a scale set whose upgrade mode is `Rolling` without one (400 `BadRequest`): its
rolling upgrades judge every upgraded instance by that signal. The Application Health extension
(publisher `Microsoft.ManagedServices`, type `ApplicationHealthLinux` / `ApplicationHealthWindows`)
is part of the model (`virtualMachineProfile.extensionProfile.extensions`) and reports each
instance's health in its instance view (`vmHealth`, and the extension's `ApplicationHealthState`
substatus). The emulator has no load balancers: any `networkProfile.healthProbe.id` counts.
Learn: "Configure rolling upgrades on Virtual Machine Scale Sets" (requirements), "Using
Application Health extension with Virtual Machine Scale Sets".
"""

from __future__ import annotations

from imagepipe.emulator.errors import ArmError

HEALTH_PUBLISHER = "Microsoft.ManagedServices"
HEALTH_TYPES = ("ApplicationHealthLinux", "ApplicationHealthWindows")
NO_HEALTH_SIGNAL = (
    "Rolling Upgrade mode is not supported for this Virtual Machine Scale Set because a health probe or "
    "health extension was not provided."
)


def extensions_of(profile: dict) -> list[dict]:
    return list(((profile or {}).get("extensionProfile") or {}).get("extensions") or [])


def health_extension(profile: dict) -> dict | None:
    """The Application Health extension of a scale set's VM profile, if it has one."""
    for extension in extensions_of(profile):
        props = extension.get("properties") or {}
        if (props.get("publisher") or "").lower() == HEALTH_PUBLISHER.lower() and (
            props.get("type") or ""
        ).lower() in (t.lower() for t in HEALTH_TYPES):
            return extension
    return None


def health_probe(profile: dict) -> str | None:
    return (((profile or {}).get("networkProfile") or {}).get("healthProbe") or {}).get("id") or None


def require_health_signal(mode: str, profile: dict) -> None:
    """Azure's refusal of a `Rolling` scale set that has neither a health probe nor the extension."""
    if mode == "Rolling" and health_probe(profile) is None and health_extension(profile) is None:
        raise ArmError(400, "BadRequest", NO_HEALTH_SIGNAL)


def check_extensions(profile: dict) -> None:
    """Every extension names itself, its publisher, type and handler version (400 InvalidParameter)."""
    names: set[str] = set()
    for index, extension in enumerate(extensions_of(profile)):
        props = extension.get("properties") or {}
        for field in ("publisher", "type", "typeHandlerVersion"):
            if not props.get(field):
                target = f"virtualMachineProfile.extensionProfile.extensions[{index}].properties.{field}"
                raise ArmError(
                    400, "InvalidParameter", f"Required parameter '{field}' is missing (null).", target
                )
        name = str(extension.get("name") or "")
        if not name or name.lower() in names:
            raise ArmError(
                400,
                "InvalidParameter",
                f"Extension name '{name}' is missing or used twice in the scale set's extension profile.",
                f"virtualMachineProfile.extensionProfile.extensions[{index}].name",
            )
        names.add(name.lower())


def stamp_extensions(profile: dict, state: str) -> None:
    """Each extension of the model carries the scale set's provisioning state (read-only, as Azure shows it)."""
    for extension in extensions_of(profile):
        extension.setdefault("properties", {})["provisioningState"] = state


def instance_health(profile: dict, state: str) -> tuple[dict, list[dict]] | None:
    """(vmHealth, extensions) of an instance view when the model has the Application Health extension:
    an instance whose provisioning or upgrade failed reports unhealthy, the others healthy."""
    extension = health_extension(profile)
    if extension is None:
        return None
    props = extension.get("properties") or {}
    health = "unhealthy" if state == "Failed" else "healthy"
    view = {
        "name": extension.get("name"),
        "type": f"{HEALTH_PUBLISHER}.{props.get('type')}",
        "typeHandlerVersion": props.get("typeHandlerVersion"),
        "statuses": [
            {
                "code": "ProvisioningState/succeeded",
                "level": "Info",
                "displayStatus": "Provisioning succeeded",
            }
        ],
        "substatuses": [
            {
                "code": f"ComponentStatus/ApplicationHealthState/{health}",
                "level": "Info" if health == "healthy" else "Error",
                "displayStatus": health.capitalize(),
            }
        ],
    }
    return {"status": {"code": f"HealthState/{health}", "level": "Info"}}, [view]
