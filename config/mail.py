"""Mail to users through the mail queue, so a slow SMTP server never holds a web request.

The web process hands each message to `accounts.tasks.send_mail_task` (queue NAME.mail, see
config/queues.py); a worker delivers it with MAIL_DELIVERY_BACKEND. When the broker is down the
message is delivered at once instead: an account mail is never dropped.
"""

import logging

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.base import BaseEmailBackend
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)


def message_fields(message) -> dict:
    """Return what a message needs to travel as JSON (attachments do not travel: see send_messages)."""
    return {"subject": message.subject, "body": message.body, "from_email": message.from_email,
            "to": list(message.to), "cc": list(message.cc), "bcc": list(message.bcc),
            "reply_to": list(message.reply_to), "headers": dict(message.extra_headers),
            "alternatives": [[content, mimetype] for content, mimetype in
                             getattr(message, "alternatives", [])]}


class QueuedEmailBackend(BaseEmailBackend):
    """Queue each message for a worker; deliver directly what cannot travel or when the broker is down."""

    def send_messages(self, email_messages) -> int:
        from accounts.tasks import send_mail_task

        direct = []
        for message in email_messages:
            if message.attachments:
                direct.append(message)  # files stay out of the broker
                continue
            try:
                send_mail_task.delay(message_fields(message))
            except OperationalError:
                logger.warning("broker unavailable; delivering a mail directly")
                direct.append(message)
        if direct:
            connection = get_connection(settings.MAIL_DELIVERY_BACKEND, fail_silently=self.fail_silently)
            connection.send_messages(direct)
        return len(email_messages)
