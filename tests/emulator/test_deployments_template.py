"""The template evaluator on its own: what it computes from a template, and what it refuses."""

from __future__ import annotations

from typing import Any

import pytest

from imagepipe.emulator.azcli.template import Scope, TemplateError, plan

SCOPE = Scope(subscription="sub-1", tenant="tenant-1", group="Group-A", group_location="westeurope")
GROUP_ID = "/subscriptions/sub-1/resourceGroups/Group-A"


def nic(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "Microsoft.Network/networkInterfaces",
        "name": name,
        "apiVersion": "2024-05-01",
        "location": "eastus",
        **extra,
    }


def template(resources: list[dict], **extra: Any) -> dict[str, Any]:
    return {"contentVersion": "1.0.0.0", "resources": resources, **extra}


def single_value(expression: str, **extra: Any) -> object:
    """What `expression` evaluates to, as the only property of one resource."""
    result = plan(template([nic("n", properties={"v": expression})], **extra), {}, SCOPE)
    return result.resources[0].body["properties"]["v"]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (
            "[resourceId('Microsoft.Network/virtualNetworks', 'net')]",
            f"{GROUP_ID}/providers/Microsoft.Network/virtualNetworks/net",
        ),
        (
            "[resourceId('Microsoft.Network/virtualNetworks/subnets', 'net', 'sub')]",
            f"{GROUP_ID}/providers/Microsoft.Network/virtualNetworks/net/subnets/sub",
        ),
        (
            "[resourceId('other-rg', 'Microsoft.Compute/images', 'img')]",
            "/subscriptions/sub-1/resourceGroups/other-rg/providers/Microsoft.Compute/images/img",
        ),
        (
            "[resourceId('sub-2', 'rg2', 'Microsoft.Compute/galleries', 'g')]",
            "/subscriptions/sub-2/resourceGroups/rg2/providers/Microsoft.Compute/galleries/g",
        ),
        ("[concat('a', 'b', 3)]", "ab3"),
        ("[concat(variables('left'), variables('right'))]", [1, 2, 3]),
        ("[resourceGroup().location]", "westeurope"),
        ("[subscription().subscriptionId]", "sub-1"),
        ("[variables('table')['Key']]", "value"),
        ("[variables('left')[1]]", 2),
        ("[[literal]", "[literal]"),
        ("plain", "plain"),
        ("['it''s']", "it's"),
    ],
)
def test_expressions(expression: str, expected: object) -> None:
    variables = {"left": [1, 2], "right": [3], "table": {"key": "value"}}
    assert single_value(expression, variables=variables) == expected


def test_copy_loops_expand_with_their_index_and_offset() -> None:
    result = plan(
        template([nic("[concat('nic', copyIndex(1))]", copy={"name": "nics", "count": 3})]),
        {},
        SCOPE,
    )
    assert [r.name for r in result.resources] == ["nic1", "nic2", "nic3"]
    assert {r.loop for r in result.resources} == {"nics"}


def test_dependencies_come_first_and_a_loop_name_means_every_instance() -> None:
    resources = [
        nic("vm-nic", dependsOn=["ips"]),
        nic("[concat('ip', copyIndex())]", copy={"name": "ips", "count": 2}),
        nic("later", dependsOn=[f"{GROUP_ID}/providers/Microsoft.Network/networkInterfaces/vm-nic"]),
    ]

    result = plan(template(resources), {}, SCOPE)

    assert [r.name for r in result.order] == ["ip0", "ip1", "vm-nic", "later"]
    vm_nic = next(r for r in result.resources if r.name == "vm-nic")
    assert [d.rsplit("/", 1)[-1] for d in vm_nic.depends_on] == ["ip0", "ip1"]


def test_a_false_condition_disables_the_resource() -> None:
    resources = [nic("maybe", condition="[equals(1, 2)]")]
    with pytest.raises(TemplateError, match="'equals' is not supported"):
        plan(template(resources), {}, SCOPE)
    result = plan(template([nic("off", condition=False), nic("on")]), {}, SCOPE)
    assert [(r.name, r.enabled) for r in result.resources] == [("off", False), ("on", True)]


def test_secure_parameters_are_shown_by_type_only() -> None:
    declared = {"password": {"type": "securestring"}, "size": {"type": "int", "defaultValue": 2}}
    result = plan(
        template([nic("n", properties={"p": "[parameters('password')]"})], parameters=declared),
        {"password": {"value": "hunter2-Secret"}},
        SCOPE,
    )
    assert result.parameters == {"password": {"type": "SecureString"}, "size": {"type": "Int", "value": 2}}
    assert result.secure_values == ["hunter2-Secret"]
    assert result.resources[0].body["properties"]["p"] == "hunter2-Secret"  # the handler gets it


def test_a_refused_parameter_value_is_not_echoed() -> None:
    declared = {"password": {"type": "securestring", "allowedValues": ["a"]}}
    with pytest.raises(TemplateError) as refused:
        plan(template([nic("n")], parameters=declared), {"password": {"value": "hunter2-Secret"}}, SCOPE)
    assert "hunter2" not in str(refused.value)


@pytest.mark.parametrize(
    ("resources", "extra", "says"),
    [
        ([nic("[listKeys('x', '2020-01-01')]")], {}, "'listKeys' is not supported"),
        ([nic("[concat('a',]")], {}, "is not valid"),
        ([nic("[copyIndex()]")], {}, "not expected at this location"),
        ([nic("[variables('nope')]")], {}, "variable 'nope' is not found"),
        ([nic("a"), nic("A")], {}, "defined multiple times"),
        ([nic("a/b")], {}, "incorrect number of name segments"),
        ([{"type": "Microsoft.Network/networkInterfaces", "name": "x"}], {}, "must have a 'apiVersion'"),
        ([nic("n", properties={"copy": [{"name": "ips", "count": 2}]})], {}, "Property copy loops"),
        ([nic("n")], {"languageVersion": "2.0"}, "language version 2.0"),
        ([nic("n", scope="elsewhere")], {}, "'scope'"),
        ([{**nic("n"), "type": "Microsoft.Resources/deployments"}], {}, "Nested and linked deployments"),
    ],
)
def test_refused(resources: list[dict], extra: dict[str, Any], says: str) -> None:
    with pytest.raises(TemplateError) as refused:
        plan(template(resources, **extra), {}, SCOPE)
    assert says in str(refused.value)
