"""Batch import and export of the directory (批量导入导出): onboarding sheets."""
