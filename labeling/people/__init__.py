"""People and projects: who may do what where, and what they did. Logins with a role (accounts) and what each role
may do (roles: Django groups; rights: a user with profile and permissions in one query; authority; sessions),
projects with their members and settings (projects), annotators' leases (leases), the audit trail's write side
(audit), password reset by mail (password_reset, off unless mail is configured) and which automatic labellers'
labels count beside people's (label_sources)."""
