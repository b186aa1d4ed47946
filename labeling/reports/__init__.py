"""Reports: the read side that pages and the API show about the labels, computed in the database and written
nowhere. Quality figures (quality: QC, screening, throughput, suggestions), automatic labels against people's
(agreement, and trajectory_agreement for traces rated on every step) and the dataset totals and audit trail that
pages list (reads)."""
