"""The worker side: Celery tasks, syncing, IDLE, the outbox, bodies, parts, search.

Runs in Celery worker processes and owns every IMAP connection. Imports
the door, webmail.shared, the models, imap and mime; never the verbs
(webmail.mail) or the views.
"""
