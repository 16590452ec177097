"""A control panel that uses twofa for its users' second factor: a reference integration."""

from .app import create_app as create_app
from .settings import PanelSettings as PanelSettings
