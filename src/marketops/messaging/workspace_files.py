"""Declares `messaging.yml` and `emails/*.yml` so `marketops validate` checks them.

Each email template is checked on its own: the YAML against the model, then every
personalization token for a fallback (file:line).
"""

from __future__ import annotations

from marketops.messaging import EMAILS_GLOB, MESSAGING_FILE
from marketops.messaging.config import MessagingFile
from marketops.messaging.templates import EmailTemplate, check_file
from marketops.workspace.registry import ExtraFile, register_file

MESSAGING = register_file(ExtraFile(MESSAGING_FILE, MessagingFile))
EMAILS = register_file(ExtraFile(EMAILS_GLOB, EmailTemplate, check=check_file))
