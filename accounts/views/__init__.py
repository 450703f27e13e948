"""Views for accounts: thin functions that authorize, call a service, render."""
