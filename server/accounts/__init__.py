"""Logins: users, passwords, tokens, WeChat sign-in and the caller's profile."""
