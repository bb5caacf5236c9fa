from django.apps import AppConfig


class MarketpulseConfig(AppConfig):
    name = "marketpulse"

    def ready(self) -> None:
        from marketpulse import checks  # noqa: F401  (registers the settings checks)

        self.register_audited_models()

    def register_audited_models(self) -> None:
        """API keys, users and their roles (groups), the beat schedule."""
        from auditlog.models import LogEntry
        from auditlog.registry import auditlog
        from django.contrib.auth.models import Group, User
        from django.db.models.signals import pre_save
        from django_celery_beat.models import (
            CrontabSchedule,
            IntervalSchedule,
            PeriodicTask,
        )

        from marketpulse.audit import describe_actor
        from marketpulse.models import ApiKey

        # Never a secret in the log; last-used times change on every use, not by anyone.
        auditlog.register(ApiKey, exclude_fields=["hashed_key", "last_used_at"])
        auditlog.register(
            User, exclude_fields=["password", "last_login"], m2m_fields={"groups"}
        )
        auditlog.register(Group, m2m_fields={"permissions"})
        # Beat writes the run bookkeeping on every run: only edits are logged.
        auditlog.register(
            PeriodicTask,
            exclude_fields=["last_run_at", "total_run_count", "date_changed"],
        )
        auditlog.register(CrontabSchedule)
        auditlog.register(IntervalSchedule)
        pre_save.connect(describe_actor, sender=LogEntry, dispatch_uid="audit_via")
