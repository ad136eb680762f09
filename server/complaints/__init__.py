"""投诉建议: complaints and suggestions from tenants, classified, assigned, replied, closed."""
