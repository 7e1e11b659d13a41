"""Desired records built from the documents: names, VMs, disks, capture outputs."""
