"""Backbones: the interface, timm-based ones, weights files and their identity, input contract, forward pass."""
