"""Offline validation of mcp-gateway's Kubernetes packaging; see validate_manifests.py."""
