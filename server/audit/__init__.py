"""日志管理: the audit log of logins and key operations (append-only, personal data masked)."""
