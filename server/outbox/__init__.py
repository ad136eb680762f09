"""The outbox: side effects written with the change that causes them, delivered after commit."""
