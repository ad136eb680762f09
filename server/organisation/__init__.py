"""The organisation (物业公司) and its settings."""
