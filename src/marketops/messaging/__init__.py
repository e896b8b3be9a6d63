"""Journey email: templates rendered in a Jinja2 sandbox, a messaging policy, and `send_email`.

`send_email` (in `send`) decides inside the caller's transaction whether a person may get a
message now — consent, do-not-contact, suppression segments, frequency cap, quiet hours in the
contact's time zone — and enqueues it in the notification outbox, which sends it over SMTP with
retries and dead letters. Unsubscribe links are HMAC-signed tokens served by the API (`/u/{token}`).
"""

MESSAGING_FILE = "messaging.yml"
EMAILS_GLOB = "emails/*.yml"
EMAILS_DIR = "emails"
