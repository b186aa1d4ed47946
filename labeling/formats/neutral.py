"""What a neutral (0) rating becomes where labels are used: one vocabulary for the exports, the
PRM's training and its scores (docs/method.md, "Neutral steps").

keep: neutral stays a class of its own (three-class training); positive: it counts as correct,
the paper's best choice; negative: it counts as wrong; drop: the step is left out (a TRL row
ends before it). Each use accepts the policies that mean something there.
"""
KEEP, POSITIVE, NEGATIVE, DROP = "keep", "positive", "negative", "drop"
NEUTRAL_POLICIES = (KEEP, POSITIVE, NEGATIVE, DROP)
EXPORT_POLICIES = (POSITIVE, NEGATIVE, DROP)  # a boolean label per step, or the row ends
SCORING_POLICIES = (POSITIVE, NEGATIVE)  # how P(0) counts in a step's score
