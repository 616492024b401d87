import datetime as dt

import factory
from django.utils import timezone

from ecabinet.models import Ministry, User


class MinistryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ministry
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"bo-{n}")
    name = factory.Sequence(lambda n: f"Bộ số {n}")
    name_en = factory.Sequence(lambda n: f"Ministry {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Sequence(lambda n: f"Nguyễn Văn Thử {n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.gov.vn")
    ministry = factory.SubFactory(MinistryFactory)
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


def in_days(days: int) -> dt.datetime:
    return timezone.now() + dt.timedelta(days=days)


def api_token(user, name: str = "test tablet") -> str:
    """A new device of ``user`` and its token, as ``POST /api/v1/auth/token`` makes them."""
    from ecabinet import devices

    return devices.issue_device(user=user, name=name)[1]
