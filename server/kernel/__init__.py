"""The shared kernel: errors, money, roles, personal data, clock and value lists — pure Python."""
