"""Users, mail-account settings, sign-in, two-factor, sessions and operator pages.

Stands below the mail: imports the models and webmail.imap (connection
tests) and webmail.shared, never the views, verbs, door or engine.
"""
