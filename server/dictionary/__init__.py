"""数据字典: the organisation's own value lists, the system's values protected."""
