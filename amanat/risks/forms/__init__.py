"""Forms of the atlas pages: they parse input only; the services decide what is allowed."""
