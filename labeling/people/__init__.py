"""People: logins with a role (accounts) and what each role may do (roles: Django groups)."""
