"""Mail to users, delivered by a worker from the mail queue (config/mail.py)."""

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection


@shared_task(ignore_result=True, autoretry_for=(OSError,), retry_backoff=30, retry_jitter=True,
             max_retries=8)
def send_mail_task(fields: dict) -> None:
    """Deliver one message; an SMTP server that is down is retried with backoff (OSError)."""
    alternatives = [tuple(pair) for pair in fields.get("alternatives", [])]
    message = EmailMultiAlternatives(
        subject=fields["subject"], body=fields["body"], from_email=fields["from_email"], to=fields["to"],
        cc=fields.get("cc"), bcc=fields.get("bcc"), reply_to=fields.get("reply_to"),
        headers=fields.get("headers"), alternatives=alternatives,
        connection=get_connection(settings.MAIL_DELIVERY_BACKEND))
    message.send()
