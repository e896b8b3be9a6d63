"""The background worker: runs registered jobs (outbox delivery, timers, …) on an interval."""
