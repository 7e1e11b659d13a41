"""What the az CLI needs beyond imagepipe's own resource types: `az vm create` sends a template deployment.

Template deployments (`Microsoft.Resources/deployments`, evaluated by `template.py`), public
IP addresses and network security groups are served only once `azcli.registry.register()` has run. The
embedded emulator and `imagepipe emulator serve` call it (`Emulator(az_cli=True)`, the
default); the kinds registry is process-wide, so once registered they stay served.
"""
