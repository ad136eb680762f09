"""Marshmallow schemas shared by every HTTP layer.

Importing this package installs zh-CN validation messages on marshmallow's field classes,
so that every 422 speaks the users' language.
"""

from schemas import zh_messages

zh_messages.install()
