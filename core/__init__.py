"""What every layer shares: errors, enums, global IDs and the text rule. Imports nothing of the
project, so any layer may import it."""
