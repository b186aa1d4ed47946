"""The demo data Stepwise makes itself: generated problems with step-by-step solutions (problems)
and what seed_demo writes (seed: rows, gold labels, demo logins)."""
