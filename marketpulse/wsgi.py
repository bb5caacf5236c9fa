import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketpulse.settings")

application = get_wsgi_application()

from marketpulse.checks import refuse_weak_secret_key  # noqa: E402

refuse_weak_secret_key()
