"""Template tags and filters of the mail pages (rows, folders, dates).

Imports the views' presentation helpers (webmail.views); nothing below them.
"""
