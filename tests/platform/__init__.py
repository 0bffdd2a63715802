"""HTTP, limits, migrations, the committed schema file, bench workloads."""
