from django.db import models


class MarketReport(models.Model):
    """The daily market summary the dashboard shows (figures as of `created_at`).

    Written by the sync pipeline's `report` job; the table keeps its first name."""

    day = models.DateField(unique=True)
    created_at = models.DateTimeField(auto_now=True)
    data = models.JSONField()

    class Meta:
        ordering = ["-day"]
        db_table = "prices_marketreport"

    def __str__(self) -> str:
        return f"market report {self.day}"
