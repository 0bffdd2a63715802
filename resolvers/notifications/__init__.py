"""The inbox (notifications, preferences, issue subscriptions): `rules` says who is told of
what, in each mutation's transaction; `inbox` holds the inbox's own mutations and reads."""
