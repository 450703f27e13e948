"""The page side's verbs: what views call to read the cache and change mail.

Runs in the web processes. Reads the cache, records changes with their
outbox rows, and asks the workers for work only through webmail.door;
never imports the engine, webmail.imap or imapclient.
"""
