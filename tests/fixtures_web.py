"""Web fixtures (owned by the shell/accounts work)."""
