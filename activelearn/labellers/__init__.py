"""Automatic step labels beside people's: rollouts (Math-Shepherd), first-error search (OmegaPRM),
a judge model, a trained PRM (methods), with the demo's and a policy server's completers and
judges, and runs that label each solution once (runs). Where sources and people agree or not:
labeling.reports.agreement."""
