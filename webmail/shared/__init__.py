"""What both the pages and the workers use: the event channel, the body cache, flags.

Imports the models, webmail.imap's and webmail.mime's plain types, and
nothing above it (not the door, the verbs, the engine or the views).
"""
