"""The family base class and its contract, supports, constraints, targets and the registry.

Also the inverse map and the cross-entropy functions (nll, log_prob, entropy, KL, fit).
"""
