from .models import Notification


def notifications(request):
    """``unread_notifications``: the caller's unread notifications, counted only if a template asks
    (base.html's header takes it from ``{% header_counts %}``, one query with the register link)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notifications": lambda: Notification.objects.filter(user=user, read_at__isnull=True).count()}
