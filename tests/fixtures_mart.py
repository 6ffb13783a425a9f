"""Mart fixtures (owned by the foundation work)."""
