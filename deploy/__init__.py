"""Deployment: the local cluster launcher (cluster.py), nginx and systemd files (docs/deploy.md)."""
