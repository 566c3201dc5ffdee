"""The server: the arbiter and its event-driven front, the query checks, the outbound guard, the saved queries."""
