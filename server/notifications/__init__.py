"""Notifications: devices, the in-app inbox, pushes (FCM) and WeChat subscribe messages."""
