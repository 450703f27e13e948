"""The pages of the webmail: each module holds the views of one noun.

Views sit on the top floor: they authorize, call the verbs of
webmail.mail, and render. They never import the engine, imapclient or
bleach (pyproject.toml's import contracts).
"""
