"""Who may read and write what: the access matrix and tenant isolation."""
