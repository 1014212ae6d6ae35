"""TimescaleDB access: settings, pool, migrations, and one repository module per aggregate."""
