"""appset."""
