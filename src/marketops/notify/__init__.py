"""Notifications: a transactional outbox delivered by the worker over webhooks, Slack and SMTP.

`outbox.enqueue` writes a delivery inside the caller's transaction; `jobs` registers the worker job
that claims due deliveries, sends them (`senders`) with signed requests (`signing`), retries with
backoff (`policy`) and dead-letters after `retry.max_attempts`.
"""

NOTIFICATIONS_FILE = "notifications.yml"
CHANNELS = ("webhook", "slack", "email")
