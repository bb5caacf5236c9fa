"""Makes sure a local operator can log in to the admin on a fresh `make run`."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the `admin` superuser once, with a random password kept in var/."

    def handle(self, *args: object, **options: object) -> None:
        User = get_user_model()
        password_file = settings.VAR_DIR / "admin_password"
        if User.objects.filter(is_superuser=True).exists():
            if password_file.exists():
                self.stdout.write(
                    f"admin login: admin / {password_file.read_text().strip()}"
                )
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser("admin", "admin@localhost", password)
        password_file.write_text(password)
        password_file.chmod(0o600)
        self.stdout.write(f"admin login: admin / {password} (kept in {password_file})")
