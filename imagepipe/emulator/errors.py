"""ARM error answers: one exception carries status, code and message to the wire."""

from __future__ import annotations


class ArmError(Exception):
    """An error Azure Resource Manager answers with `{"error": {"code", "message"}}`."""

    def __init__(self, status: int, code: str, message: str, target: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.target = target

    def body(self) -> dict:
        error: dict = {"code": self.code, "message": self.message}
        if self.target:
            error["target"] = self.target
        return {"error": error}


def not_found(resource_id: str, type_name: str) -> ArmError:
    parts = resource_id.strip("/").split("/")
    group = parts[3] if len(parts) > 3 else ""
    return ArmError(
        404,
        "ResourceNotFound",
        f"The Resource '{type_name}/{parts[-1]}' under resource group '{group}' was not found. "
        "For more details please go to https://aka.ms/ARMResourceNotFoundFix",
    )


def group_not_found(group: str) -> ArmError:
    return ArmError(404, "ResourceGroupNotFound", f"Resource group '{group}' could not be found.")


def invalid(message: str, target: str | None = None) -> ArmError:
    return ArmError(400, "InvalidParameter", message, target)


def not_allowed(message: str) -> ArmError:
    return ArmError(409, "OperationNotAllowed", message)


def property_change(prop: str) -> ArmError:
    return ArmError(409, "PropertyChangeNotAllowed", f"Changing property '{prop}' is not allowed.", prop)
