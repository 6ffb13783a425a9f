"""View models: engine rows turned into what a page shows (shared by the callbacks, which never import each other)."""
