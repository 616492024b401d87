"""Separation of duties in the database: no account holds administrator powers (staff, superuser)
and a content duty (secretariat, archivist, Government member) at once.

An installation where an administrator already holds a content duty stops here with the list of
those accounts, and nothing is changed silently: which of the two an account keeps is a decision
for the people responsible, made in the administration (another administrator removes one of the
flags; the change is audited), then ``migrate`` again.
"""

from django.db import migrations, models

ADMIN = models.Q(is_staff=True) | models.Q(is_superuser=True)
CONTENT = models.Q(is_secretariat=True) | models.Q(is_archivist=True) | models.Q(is_member=True)


def refuse_existing_conflicts(apps, schema_editor):
    User = apps.get_model("ecabinet", "User")
    both = list(User.objects.filter(ADMIN & CONTENT).order_by("username").values_list("username", flat=True))
    if both:
        raise RuntimeError(
            "These accounts hold administrator powers (staff or superuser) and a content duty (secretariat, "
            f"archivist or Government member) at once: {', '.join(both)}. Remove one of the two from each "
            "(see docs/security.md, 'Separation of duties'), then run migrate again.")


class Migration(migrations.Migration):

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("ecabinet", "0004_devices"),
    ]

    operations = [
        migrations.RunPython(refuse_existing_conflicts, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.CheckConstraint(condition=~(ADMIN & CONTENT), name="user_admin_holds_no_content_duty"),
        ),
    ]
