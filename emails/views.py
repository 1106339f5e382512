"""The unsubscribe link of missed-message emails: a confirmation page (GET) and the change (POST).

The signed token in the URL is the credential, so the POST needs no session or CSRF token: mail clients
send it on their own when the person presses their "unsubscribe" button (RFC 8058 one-click).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from emails.services import email_notifications_disable, unsubscribe_user


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    user = unsubscribe_user(token)
    if user is None:
        return render(request, "emails/unsubscribe_invalid.html", status=400)
    if request.method == "POST":
        email_notifications_disable(user=user)
        return render(request, "emails/unsubscribed.html", {"user": user})
    return render(request, "emails/unsubscribe.html", {"user": user})
