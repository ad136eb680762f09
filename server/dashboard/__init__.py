"""数据看板: the desk's figures over a date range, set-based SQL."""
