"""One router module per resource; each route parses, checks a scope, calls the library."""
