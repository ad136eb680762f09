"""The property tree, customers and who holds which room (tenancy)."""
