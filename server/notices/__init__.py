"""通知公告 and 公告板: notices to residents and staff, their fan-out and read receipts."""
