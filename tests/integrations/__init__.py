"""Talking to other systems: email over SMTP, webhooks, against real local servers."""
