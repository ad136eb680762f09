"""Repair orders: the state machine, who may take what, filing, hand-out, the other steps, lists."""
