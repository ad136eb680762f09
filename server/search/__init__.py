"""全能搜索 (omni search): one box that finds rooms, customers and orders of the organisation."""
