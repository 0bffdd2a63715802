"""No database, no HTTP: pure functions and the executor on tiny inline schemas."""
