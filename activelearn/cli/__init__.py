"""What activelearn's management commands share, kept out of `management/` so that a command imports a
module, not a commands folder: the model-shape options (train_prm, register_model), waiting on a round
(start_round, resume_round, cancel_round) and carrying out a run with a progress bar (generate_solutions,
auto_label)."""
