"""Screens of the core app: the user's notifications."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from . import services
from .models import Notification

PAGE_SIZE = 100


@login_required
def notifications(request: HttpRequest) -> HttpResponse:
    """The newest notices first. Opening the page marks them read; those unread until now stay
    highlighted on this rendering."""
    notices = list(Notification.objects.filter(user=request.user).order_by("-created_at", "-id")[:PAGE_SIZE])
    if notices:
        services.notifications_mark_read(user=request.user, up_to_id=max(n.pk for n in notices))
    return render(request, "ecabinet/notifications.html", {"notices": notices})
